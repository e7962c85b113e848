/* The texts of the mails Parley sends. Each template fills a mail_message_t and renders it; values that come from
 * users (names, comment text, URLs) only ever go into bodies, and mail_message_render strips control characters
 * from anything that reaches a header. */
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
