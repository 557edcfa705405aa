<?php
// Shared by every page of the example app: the database connection, the session and the HTML
// around each page. Kept outside public/ so the web server never serves it.

declare(strict_types=1);

// db returns the connection to the users database. DB_DSN is a PDO DSN such as
// "mysql:host=127.0.0.1;dbname=app;charset=utf8mb4"; DB_USER and DB_PASSWORD log in.
function db(): PDO
{
    static $pdo = null;
    if ($pdo === null) {
        $pdo = new PDO(
            getenv('DB_DSN') ?: 'mysql:host=127.0.0.1;dbname=app;charset=utf8mb4',
            getenv('DB_USER') ?: 'app',
            getenv('DB_PASSWORD') ?: '',
            [
                PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
                PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
                PDO::ATTR_EMULATE_PREPARES => false,
            ]
        );
    }
    return $pdo;
}

function start_session(): void
{
    session_start([
        'cookie_httponly' => true,
        'cookie_samesite' => 'Lax',
        'use_strict_mode' => true,
    ]);
}

// current_user returns the signed-in user's row (id, name, email), or null.
function current_user(): ?array
{
    if (!isset($_SESSION['user_id'])) {
        return null;
    }
    $stmt = db()->prepare('SELECT id, name, email FROM users WHERE id = ?');
    $stmt->execute([$_SESSION['user_id']]);
    $user = $stmt->fetch();
    return $user === false ? null : $user;
}

function h(string $s): string
{
    return htmlspecialchars($s, ENT_QUOTES | ENT_HTML5, 'UTF-8');
}

function redirect(string $path): never
{
    header('Location: ' . $path, true, 303);
    exit;
}

function page_start(string $title): void
{
    echo <<<HTML
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{$title} · Example PHP App</title>
    <link rel="stylesheet" href="/static/app.css">
    </head>
    <body>
    <header class="top">
      <a class="brand" href="/"><img src="/static/logo.svg" alt="" width="28" height="28"> Example PHP App</a>
      <nav><a href="/">Your account</a> <a href="/login.php">Sign in</a></nav>
    </header>
    <main>
    <h1>{$title}</h1>

    HTML;
}

function page_end(): void
{
    echo "</main>\n<footer class=\"bottom\"><p>Example PHP App · a legacy app that knows nothing of password resets</p></footer>\n</body>\n</html>\n";
}
