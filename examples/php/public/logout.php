<?php
// Signing out ends the PHP session and sends the user back to the login form.
declare(strict_types=1);
require __DIR__ . '/../lib/app.php';

if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
    http_response_code(405);
    header('Allow: POST');
    exit;
}
start_session();
$_SESSION = [];
session_destroy();
setcookie(session_name(), '', ['expires' => 1, 'path' => '/', 'httponly' => true, 'samesite' => 'Lax']);
redirect('/login.php');
