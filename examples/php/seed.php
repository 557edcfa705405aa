<?php
// Create the users table (schema.sql) and one user whose hash PHP's password_hash makes itself:
//
//     DB_DSN='mysql:host=127.0.0.1;dbname=app;charset=utf8mb4' DB_USER=app DB_PASSWORD=… \
//         php seed.php [EMAIL NAME PASSWORD]
//
// Without arguments the user is alice@example.com, "Alice", password "wonderland". Running it
// again resets that user's name and password.
declare(strict_types=1);
require __DIR__ . '/lib/app.php';

if ($argc === 4) {
    [, $email, $name, $password] = $argv;
} elseif ($argc === 1) {
    [$email, $name, $password] = ['alice@example.com', 'Alice', 'wonderland'];
} else {
    fwrite(STDERR, "usage: php seed.php [EMAIL NAME PASSWORD]\n");
    exit(2);
}
db()->exec(file_get_contents(__DIR__ . '/schema.sql'));
$stmt = db()->prepare('INSERT INTO users (name, email, password) VALUES (?, ?, ?)
    ON DUPLICATE KEY UPDATE name = VALUES(name), password = VALUES(password)');
$stmt->execute([$name, $email, password_hash($password, PASSWORD_DEFAULT)]);
echo "user $email ready\n";
