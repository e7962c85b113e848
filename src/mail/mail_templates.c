/* The texts of the mails Parley sends. Each template fills a mail_message_t and renders it; values that come from
 * users (names, comment text, URLs) go into bodies and at most into the subject, and mail_message_render strips
 * control characters from anything that reaches a header. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/core_error.h"
#include "mail/mail.h"

int mail_template_moderate(const char *from, const char *to, const char *site, const char *url, const char *author,
                           const char *body, const char *approve_link, const char *spam_link, time_t now, char **out,
                           size_t *out_len)
{
    size_t cap = strlen(url) + strlen(author) + strlen(body) + strlen(approve_link) + strlen(spam_link) + 512;
    char *text = malloc(cap), subject[160];
    if (text == NULL)
        abort();
    snprintf(text, cap,
             "A new comment on %s waits for moderation.\n\n"
             "From: %s\n\n"
             "%s\n\n"
             "Approve it:\n%s\n\n"
             "Mark it as spam:\n%s\n\n"
             "Each link opens a page where you confirm; it works for 7 days and only for this comment.\n"
             "You get this mail because your address is in accounts.admin_emails of the Parley site \"%s\".\n",
             url, author, body, approve_link, spam_link, site);
    snprintf(subject, sizeof(subject), "[%s] A comment waits for moderation", site);
    mail_message_t m = {.from = from, .to = to, .subject = subject, .text = text};
    int rc = mail_message_render(&m, now, out, out_len);
    free(text);
    return rc;
}

/* Renders TEXT under SUBJECT (both malloc'ed here, from the formats below) and frees them. */
static int render_free(const char *from, const char *to, char *subject, char *text, const char *list_unsubscribe,
                       time_t now, char **out, size_t *out_len)
{
    mail_message_t m = {.from = from, .to = to, .subject = subject, .text = text, .list_unsubscribe = list_unsubscribe};
    int rc = mail_message_render(&m, now, out, out_len);
    free(subject);
    free(text);
    return rc;
}

static char *alloc_or_abort(size_t n)
{
    char *p = malloc(n);
    if (p == NULL)
        abort();
    return p;
}

int mail_template_subscribe(const char *from, const char *to, const char *site, const char *url,
                            const char *confirm_link, time_t now, char **out, size_t *out_len)
{
    size_t scap = strlen(url) + 64, tcap = strlen(url) + strlen(confirm_link) + strlen(site) + 640;
    char *subject = alloc_or_abort(scap), *text = alloc_or_abort(tcap);
    snprintf(subject, scap, "Confirm that you want replies to your comment on %s", url);
    /* The mail goes to whatever address was typed into the comment form, possibly by someone else: it says so, and
     * that doing nothing is the way to decline. */
    snprintf(text, tcap,
             "Someone, hopefully you, left a comment on %s with this e-mail address and asked to be told about "
             "replies.\n\n"
             "To get a mail for each reply, confirm here:\n%s\n\n"
             "The link opens a page where you confirm; it works for 7 days. If you did not ask for this, ignore this "
             "mail: you will get nothing more.\n"
             "Sent by the Parley comments of the site \"%s\".\n",
             url, confirm_link, site);
    return render_free(from, to, subject, text, NULL, now, out, out_len);
}

int mail_template_reply(const char *from, const char *to, const char *site, const char *url, const char *author,
                        const char *body, const char *comment_link, const char *unsubscribe_link, time_t now,
                        char **out, size_t *out_len)
{
    size_t scap = strlen(url) + 64, tcap = strlen(url) + strlen(author) + strlen(body) + strlen(comment_link) +
                                           strlen(unsubscribe_link) + strlen(site) + 640;
    char *subject = alloc_or_abort(scap), *text = alloc_or_abort(tcap);
    snprintf(subject, scap, "New reply to your comment on %s", url);
    snprintf(text, tcap,
             "%s replied to your comment on %s:\n\n"
             "%s\n\n"
             "Read it and answer:\n%s\n\n"
             "You get this mail because you asked for replies to your comment and confirmed it.\n"
             "To stop these mails:\n%s\n"
             "Sent by the Parley comments of the site \"%s\".\n",
             author, url, body, comment_link, unsubscribe_link, site);
    return render_free(from, to, subject, text, unsubscribe_link, now, out, out_len);
}

/* ---- accounts ------------------------------------------------------------------------------------------------
 *
 * These go to the address typed into a form, possibly by someone else, so each says what happened, that doing
 * nothing is safe, and never carries a password. The user name is ours ([A-Za-z0-9_.-]), but the subject is
 * cleaned by mail_message_render anyway and the body cannot start a header. */

/* True when S is a non-empty single-line value. User names and links are identifiers we made or validated: a
 * control character in one (a line break that would start a fake paragraph, or a header in the subject if the
 * renderer did not clean it) can only be a bug or an attack upstream, so it is refused, not repaired. */
static bool is_one_line(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (; *s; ++s)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
            return false;
    return true;
}

/* A malloc'ed string from FMT (never truncated). */
__attribute__((format(printf, 1, 2))) static char *fmt_alloc(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    char *s = alloc_or_abort((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* TTL_S as people say it: whole hours when it is whole hours or at least two, else minutes. Rounded down, so a
 * mail never promises more time than the link has. */
static void format_duration(uint32_t ttl_s, char *buf, size_t len)
{
    uint32_t hours = ttl_s / 3600, minutes = ttl_s / 60;
    if (hours >= 1 && (ttl_s % 3600 == 0 || hours >= 2))
        snprintf(buf, len, "%u hour%s", hours, hours == 1 ? "" : "s");
    else
        snprintf(buf, len, "%u minute%s", minutes > 0 ? minutes : 1, minutes == 1 || minutes == 0 ? "" : "s");
}

int mail_template_verify(const char *from, const char *to, const char *username, const char *verify_link,
                         uint32_t ttl_s, time_t now, char **out, size_t *out_len)
{
    if (!is_one_line(username) || !is_one_line(verify_link))
        return CORE_ERR_INVALID;
    char ttl[32];
    format_duration(ttl_s, ttl, sizeof(ttl));
    char *subject = fmt_alloc("Verify your e-mail address for %s", username);
    char *text = fmt_alloc("Hello %s,\n\n"
                           "Please confirm that this is your e-mail address by opening this link:\n%s\n\n"
                           "The link works once, within %s.\n\n"
                           "If this wasn't you, ignore this mail: the address stays unverified.\n",
                           username, verify_link, ttl);
    return render_free(from, to, subject, text, NULL, now, out, out_len);
}

int mail_template_already(const char *from, const char *to, const char *lost_link, const char *verify_link, time_t now,
                          char **out, size_t *out_len)
{
    if (!is_one_line(lost_link) || (verify_link != NULL && !is_one_line(verify_link)))
        return CORE_ERR_INVALID;
    /* This mail lets the register form answer alike whether or not the address is known (no account enumeration):
     * only the owner's mailbox learns the difference. */
    char *verify = verify_link != NULL ? fmt_alloc("Your address is not verified yet. To verify it, open this link:\n"
                                                   "%s\n\n",
                                                   verify_link)
                                       : fmt_alloc("%s", "");
    char *text = fmt_alloc("Someone, hopefully you, just tried to register a new account with this e-mail address. "
                           "You already have an account with it, so no new one was created.\n\n"
                           "Forgot your password? Choose a new one here:\n%s\n\n"
                           "%s"
                           "If this wasn't you, ignore this mail: nothing has changed.\n",
                           lost_link, verify);
    free(verify);
    return render_free(from, to, fmt_alloc("%s", "You already have an account"), text, NULL, now, out, out_len);
}

int mail_template_name_taken(const char *from, const char *to, const char *username, const char *register_link,
                             time_t now, char **out, size_t *out_len)
{
    if (!is_one_line(username) || !is_one_line(register_link))
        return CORE_ERR_INVALID;
    char *text = fmt_alloc("Someone, hopefully you, just tried to register with this e-mail address and the user "
                           "name \"%s\". That user name is already taken, so no account was created.\n\n"
                           "To register, pick another user name here:\n%s\n\n"
                           "If this wasn't you, ignore this mail: nothing has changed.\n",
                           username, register_link);
    return render_free(from, to, fmt_alloc("%s", "That user name is taken"), text, NULL, now, out, out_len);
}

int mail_template_reset(const char *from, const char *to, const char *username, const char *reset_link, uint32_t ttl_s,
                        time_t now, char **out, size_t *out_len)
{
    if (!is_one_line(username) || !is_one_line(reset_link))
        return CORE_ERR_INVALID;
    char ttl[32];
    format_duration(ttl_s, ttl, sizeof(ttl));
    char *text = fmt_alloc("Hello %s,\n\n"
                           "Someone, hopefully you, asked to reset the password of your account. To choose a new "
                           "password, open this link:\n%s\n\n"
                           "The link works once, within %s.\n\n"
                           "If you did not ask for this, ignore this mail: your password stays as it is.\n",
                           username, reset_link, ttl);
    return render_free(from, to, fmt_alloc("%s", "Reset your password"), text, NULL, now, out, out_len);
}

int mail_template_password_changed(const char *from, const char *to, const char *username, const char *lost_link,
                                   time_t now, char **out, size_t *out_len)
{
    if (!is_one_line(username) || !is_one_line(lost_link))
        return CORE_ERR_INVALID;
    char *text = fmt_alloc("Hello %s,\n\n"
                           "The password of your account was just changed, and you were logged out elsewhere (in "
                           "other browsers and on other devices).\n\n"
                           "If this was you, there is nothing more to do.\n\n"
                           "If this was not you, reset your password at once here:\n%s\n",
                           username, lost_link);
    return render_free(from, to, fmt_alloc("%s", "Your password was changed"), text, NULL, now, out, out_len);
}

/* ---- privacy ------------------------------------------------------------------------------------------------ */

int mail_template_privacy(const char *from, const char *to, const char *site, const char *manage_link, uint32_t ttl_s,
                          time_t now, char **out, size_t *out_len)
{
    if (!is_one_line(manage_link) || (site != NULL && !is_one_line(site)))
        return CORE_ERR_INVALID;
    char ttl[32];
    format_duration(ttl_s, ttl, sizeof(ttl));
    /* Like the account mails, this goes to an address someone typed into a form: it says what was asked, and that
     * doing nothing changes nothing. */
    char *where = site != NULL ? fmt_alloc("on the site \"%s\"", site) : fmt_alloc("%s", "on this Parley server");
    char *text = fmt_alloc("Someone, hopefully you, asked to see the comments made with this e-mail address %s.\n\n"
                           "To download them all, or to delete them all, open this link:\n%s\n\n"
                           "The link works for %s; deleting works once.\n\n"
                           "If you did not ask for this, ignore this mail: nothing has changed.\n",
                           where, manage_link, ttl);
    free(where);
    return render_free(from, to, fmt_alloc("%s", "Your comments: download or delete them"), text, NULL, now, out,
                       out_len);
}
