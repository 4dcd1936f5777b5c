"""The WordPress plugin against a real WordPress: Debian's wordpress, php-cli and mariadb-server,
set up here in a temporary folder (a MariaDB server of its own, a copy of WordPress with its own
wp-config.php), the plugin activated, comments posted through ``wp_new_comment`` from php-cli, and
the real service (gunicorn in a subprocess) deciding them."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_service import _free_port, wait_ready

PLUGIN = Path(__file__).resolve().parents[1] / "integrations" / "wordpress" / "news-moderation"
MARIADBD = shutil.which("mariadbd") or shutil.which("mysqld")
INSTALL_DB = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
CLIENT = shutil.which("mariadb") or shutil.which("mysql")
pytestmark = pytest.mark.skipif(not (shutil.which("php") and MARIADBD and INSTALL_DB and CLIENT
                                     and Path("/usr/share/wordpress/wp-load.php").exists()),
                                reason="WordPress, php-cli and mariadb-server are not installed "
                                       "(apt-get install wordpress php-cli php-mysql mariadb-server)")


@pytest.fixture(scope="module")
def mariadb(tmp_path_factory):
    data = tmp_path_factory.mktemp("mariadb")
    socket_path = data / "mysql.sock"
    user = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run([INSTALL_DB, "--no-defaults", f"--datadir={data}/db", "--auth-root-authentication-method=socket",
                    *user], check=True, capture_output=True)
    server = subprocess.Popen([MARIADBD, "--no-defaults", f"--datadir={data}/db", f"--socket={socket_path}",
                               "--skip-networking", f"--pid-file={data}/mysqld.pid", *user],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while subprocess.run([CLIENT, f"--socket={socket_path}", "-uroot", "-e", "SELECT 1"],
                         capture_output=True).returncode != 0:
        assert server.poll() is None and time.monotonic() < deadline, "MariaDB did not start"
        time.sleep(0.3)
    subprocess.run([CLIENT, f"--socket={socket_path}", "-uroot", "-e", "CREATE DATABASE wordpress"], check=True)
    yield socket_path
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)


@pytest.fixture(scope="module")
def service(tiny_model_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("service")
    port = _free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "moderation"), "serve", "--port", str(port),
                               "--model", str(tiny_model_path), "--db", str(folder / "h.sqlite3")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_ready(base, server, "service")
    yield base
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def wordpress(mariadb, service, tmp_path_factory):
    root = tmp_path_factory.mktemp("wordpress") / "site"
    shutil.copytree("/usr/share/wordpress", root, symlinks=False, ignore_dangling_symlinks=True,
                    ignore=shutil.ignore_patterns(".htaccess"))
    (root / "wp-config.php").write_text(f"""<?php
define('DB_NAME', 'wordpress'); define('DB_USER', 'root'); define('DB_PASSWORD', '');
define('DB_HOST', 'localhost:{mariadb}'); define('DB_CHARSET', 'utf8mb4'); define('DB_COLLATE', '');
$table_prefix = 'wp_';
define('WP_HOME', 'http://127.0.0.1'); define('WP_SITEURL', 'http://127.0.0.1');
define('WP_CONTENT_DIR', __DIR__ . '/wp-content'); define('WP_PLUGIN_DIR', __DIR__ . '/wp-content/plugins');
define('AUTOMATIC_UPDATER_DISABLED', true); define('WP_HTTP_BLOCK_EXTERNAL', false);
if (!defined('ABSPATH')) define('ABSPATH', __DIR__ . '/');
require_once ABSPATH . 'wp-settings.php';
""")
    plugins = root / "wp-content" / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PLUGIN, plugins / "news-moderation")
    php(root, """define('WP_INSTALLING', true); require 'wp-load.php'; require_once ABSPATH . 'wp-admin/includes/upgrade.php';
        wp_install('News', 'editor', 'editor@example.com', true, '', 'a-long-password-1');
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        $r = activate_plugin('news-moderation/news-moderation.php'); if (is_wp_error($r)) { echo $r->get_error_message(); exit(1); }
        update_option('news_moderation_url', '""" + service + """'); update_option('comment_moderation', 0);
        update_option('comment_previously_approved', 0); echo 'installed';""")
    return root


def php(root: Path, code: str) -> str:
    result = subprocess.run(["php", "-d", "display_errors=stderr", "-r", f"chdir({json.dumps(str(root))}); {code}"],
                            capture_output=True, text=True, timeout=120, cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def post_comment(root: Path, text: str, email: str) -> tuple[int, str]:
    # WordPress's flood check would refuse comments posted a second apart: not what is tested here.
    out = php(root, "require 'wp-load.php'; add_filter('wp_is_comment_flood', '__return_false', 99); "
                    "$id = wp_new_comment(array('comment_post_ID' => 1, 'comment_author' => 'Reader', 'comment_author_url' => '', "
                    f"'comment_author_email' => {json.dumps(email)}, 'comment_content' => {json.dumps(text)}, "
                    "'comment_type' => 'comment', 'comment_author_IP' => '127.0.0.1'), true); "
                    "if (is_wp_error($id)) { echo 'error ' . $id->get_error_message(); exit(1); } "
                    "echo $id . ' ' . wp_get_comment_status($id);")
    number, status = out.strip().split()
    return int(number), status


def test_wordpress_publishes_holds_and_rejects_by_the_verdict_and_sends_back_decisions(wordpress, service):
    clean = post_comment(wordpress, "Thanks for the clear reporting on the school board meeting.", "a@example.com")
    held = post_comment(wordpress, "Only a moron would vote for that clown again.", "b@example.com")
    rejected = post_comment(wordpress, "This council is full of shit and the fucking mayor knows it.", "c@example.com")
    assert clean[1] == "approved"
    assert held[1] == "unapproved"
    assert rejected[1] == "trash"
    # The moderator approves the held comment in WordPress: the decision reaches the service.
    php(wordpress, f"require 'wp-load.php'; wp_set_current_user(1); wp_set_comment_status({held[0]}, 'approve');")
    with urllib.request.urlopen(service + "/v1/stats?days=1", timeout=10) as answer:
        stats = json.loads(answer.read())["rules"]
    assert stats["respect"]["decided"] == 1 and stats["respect"]["overturned"] == 1


def test_a_service_that_does_not_answer_holds_the_comment(wordpress):
    php(wordpress, "require 'wp-load.php'; update_option('news_moderation_url', 'http://10.255.255.1:9');")
    try:
        started = time.monotonic()
        number, status = post_comment(wordpress, "A perfectly fine comment about the budget.", "d@example.com")
        assert status == "unapproved" and time.monotonic() - started < 15
    finally:
        pass
