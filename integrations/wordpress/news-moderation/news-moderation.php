<?php
/**
 * Plugin Name: News Moderation
 * Description: Sends each new comment to the news-moderation service: published, held for moderation, spam or
 *              trash by its verdict; a moderator's approval or rejection goes back to it as a decision.
 * Version: 0.1.0
 * License: GPL-2.0-or-later
 * License URI: https://www.gnu.org/licenses/gpl-2.0.html
 *
 * If the service does not answer within two seconds, the comment is held for moderation: never lost,
 * never published unchecked.
 */

if (!defined('ABSPATH')) {
    exit;
}

const NEWS_MODERATION_TIMEOUT = 2;
const NEWS_MODERATION_SPAM_RULES = array('links', 'promotional', 'repeated');

/** The id the service knows a comment by: the same before WordPress gives it an ID and after. */
function news_moderation_id($post_id, $date_gmt, $email, $content) {
    return 'wp-' . substr(md5($post_id . '|' . $date_gmt . '|' . $email . '|' . $content), 0, 20);
}

function news_moderation_request($path, $body) {
    $url = rtrim((string) get_option('news_moderation_url', ''), '/');
    if ($url === '') {
        return new WP_Error('news_moderation', 'no service URL set');
    }
    $headers = array('Content-Type' => 'application/json');
    $token = (string) get_option('news_moderation_token', '');
    if ($token !== '') {
        $headers['Authorization'] = 'Bearer ' . $token;
    }
    return wp_remote_post($url . $path, array('timeout' => NEWS_MODERATION_TIMEOUT, 'headers' => $headers,
                                              'body' => wp_json_encode($body)));
}

$GLOBALS['news_moderation_last'] = null;

/** pre_comment_approved: 1 (publish), 0 (hold), 'spam' or 'trash', by the service's verdict. */
function news_moderation_check($approved, $commentdata) {
    if ($approved === 'spam' || $approved === 'trash') {
        return $approved;   // WordPress's own checks already decided
    }
    $id = news_moderation_id($commentdata['comment_post_ID'], $commentdata['comment_date_gmt'],
                             $commentdata['comment_author_email'], $commentdata['comment_content']);
    $response = news_moderation_request('/v1/moderate', array(
        'text' => $commentdata['comment_content'],
        'id' => $id,
        'thread' => 'post-' . $commentdata['comment_post_ID'],
        'author' => $commentdata['comment_author_email'] !== '' ? md5(strtolower($commentdata['comment_author_email']))
                                                                : $commentdata['comment_author'],
    ));
    if (is_wp_error($response) || wp_remote_retrieve_response_code($response) !== 200) {
        return 0;   // no answer in time (or an error): held for a moderator, never lost
    }
    $verdict = json_decode(wp_remote_retrieve_body($response), true);
    if (!is_array($verdict) || !isset($verdict['verdict'])) {
        return 0;
    }
    $rules = array();
    foreach ($verdict['flags'] as $flag) {
        $rules[] = $flag['rule'];
    }
    $GLOBALS['news_moderation_last'] = array('id' => $id, 'verdict' => $verdict['verdict'], 'rules' => $rules);
    if ($verdict['verdict'] === 'publish') {
        return 1;
    }
    if ($verdict['verdict'] === 'review') {
        return 0;
    }
    foreach ($verdict['flags'] as $flag) {   // reject: spam when a spam rule rejected it, else trash
        if ($flag['action'] === 'reject') {
            return in_array($flag['rule'], NEWS_MODERATION_SPAM_RULES, true) ? 'spam' : 'trash';
        }
    }
    return 'trash';
}
add_filter('pre_comment_approved', 'news_moderation_check', 99, 2);

/** comment_post: remember the verdict beside the comment (for the decision a moderator makes later). */
function news_moderation_remember($comment_id) {
    $last = $GLOBALS['news_moderation_last'];
    if ($last !== null) {
        add_comment_meta($comment_id, 'news_moderation', $last, true);
        $GLOBALS['news_moderation_last'] = null;
    }
}
add_action('comment_post', 'news_moderation_remember', 10, 1);

/** transition_comment_status: a moderator's approval or rejection, sent to /v1/decisions. */
function news_moderation_decided($new_status, $old_status, $comment) {
    if ($new_status === $old_status) {
        return;
    }
    $decision = $new_status === 'approved' ? 'approve' : (in_array($new_status, array('spam', 'trash'), true) ? 'reject' : null);
    if ($decision === null) {
        return;
    }
    $meta = get_comment_meta($comment->comment_ID, 'news_moderation', true);
    $id = is_array($meta) ? $meta['id'] : news_moderation_id($comment->comment_post_ID, $comment->comment_date_gmt,
                                                            $comment->comment_author_email, $comment->comment_content);
    $rules = ($decision === 'reject' && is_array($meta)) ? $meta['rules'] : array();
    if ($decision === 'reject' && !$rules) {
        $rules = array($new_status === 'spam' ? 'promotional' : 'respect');
    }
    $user = wp_get_current_user();
    news_moderation_request('/v1/decisions', array(
        'id' => $id, 'decision' => $decision, 'rules' => array_values($rules), 'text' => $comment->comment_content,
        'moderator' => ($user && $user->exists()) ? $user->user_login : null,
    ));
}
add_action('transition_comment_status', 'news_moderation_decided', 10, 3);

/** Settings → News Moderation: the service's URL and token. */
function news_moderation_settings() {
    register_setting('news_moderation', 'news_moderation_url', array('type' => 'string', 'sanitize_callback' => 'esc_url_raw'));
    register_setting('news_moderation', 'news_moderation_token', array('type' => 'string', 'sanitize_callback' => 'sanitize_text_field'));
}
add_action('admin_init', 'news_moderation_settings');

function news_moderation_menu() {
    add_options_page('News Moderation', 'News Moderation', 'manage_options', 'news-moderation', 'news_moderation_page');
}
add_action('admin_menu', 'news_moderation_menu');

function news_moderation_page() {
    ?>
    <div class="wrap"><h1>News Moderation</h1>
    <form method="post" action="options.php">
        <?php settings_fields('news_moderation'); ?>
        <table class="form-table">
        <tr><th><label for="news_moderation_url">Service URL</label></th>
            <td><input class="regular-text" id="news_moderation_url" name="news_moderation_url"
                       value="<?php echo esc_attr(get_option('news_moderation_url', '')); ?>"
                       placeholder="https://moderation.example.com"></td></tr>
        <tr><th><label for="news_moderation_token">Token</label></th>
            <td><input class="regular-text" id="news_moderation_token" name="news_moderation_token" type="password"
                       value="<?php echo esc_attr(get_option('news_moderation_token', '')); ?>"></td></tr>
        </table>
        <p>A comment the service does not answer for within <?php echo (int) NEWS_MODERATION_TIMEOUT; ?> seconds is held
           for moderation.</p>
        <?php submit_button(); ?>
    </form></div>
    <?php
}
