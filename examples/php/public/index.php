<?php
// The page behind the login.
declare(strict_types=1);
require __DIR__ . '/../lib/app.php';

start_session();
$user = current_user();
if ($user === null) {
    redirect('/login.php');
}
page_start('Your account');
?>
<p>Hello <?= h($user['name']) ?>, you are signed in as <strong><?= h($user['email']) ?></strong>.</p>
<form method="post" action="/logout.php">
  <button type="submit" id="logout">Sign out</button>
</form>
<?php
page_end();
