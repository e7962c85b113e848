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
