# The example Flask app, for docker-compose.yml (build context: examples/flask).
FROM python:3.12-slim
RUN pip install --no-cache-dir "flask>=2.2,<4" "psycopg2-binary>=2.9,<3"
WORKDIR /app
COPY . .
USER nobody
CMD ["sh", "-c", "python seed.py && python app.py"]
