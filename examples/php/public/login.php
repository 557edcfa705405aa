<?php
// The login form. MariaDB's default collation compares the e-mail address without regard to
// case, as resetgate's default (email_case_sensitive = false) does.
declare(strict_types=1);
require __DIR__ . '/../lib/app.php';

start_session();
$email = '';
$error = null;
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    $email = trim((string)($_POST['email'] ?? ''));
    $password = (string)($_POST['password'] ?? '');
    $stmt = db()->prepare('SELECT id, password FROM users WHERE email = ?');
    $stmt->execute([$email]);
    $row = $stmt->fetch();
    if ($row !== false && password_verify($password, $row['password'])) {
        session_regenerate_id(true);
        $_SESSION['user_id'] = (int)$row['id'];
        redirect('/');
    }
    http_response_code(401);
    $error = 'Wrong e-mail address or password.';
}
page_start('Sign in');
?>
<?php if ($error !== null): ?><p class="error" role="alert"><?= h($error) ?></p><?php endif ?>
<form method="post" action="/login.php">
  <label for="email">E-mail</label>
  <input id="email" name="email" type="email" autocomplete="username" value="<?= h($email) ?>" required>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in</button>
</form>
<?php
page_end();
