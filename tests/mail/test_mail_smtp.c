/* Driver for tests/mail/smtp.test.js: renders one message with mail_message_render and sends it with
 * mail_smtp_send to the SMTP server on 127.0.0.1:PORT, then prints one JSON line with the outcome.
 *
 *   test_mail_smtp PORT [RCPT]
 *
 * The message comes from the environment so the JS test holds its expected values in one place:
 * PARLEY_TEST_FROM, PARLEY_TEST_SUBJECT, PARLEY_TEST_TEXT, PARLEY_TEST_HTML (optional), PARLEY_TEST_UNSUB
 * (optional List-Unsubscribe URL). PARLEY_TEST_SMTP_USER / PARLEY_TEST_SMTP_PASS stand for the resolved
 * smtp.username_env / smtp.password_env, and PARLEY_TEST_REQUIRE_TLS=1 sets require_tls.
 *
 * Exit status: 0 accepted, 2 temporary failure, 3 permanent failure, 1 bad usage or a message that does not
 * render. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/core_error.h"
#include "mail/mail.h"

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v != NULL ? v : def;
}

/* Prints S as a JSON string; the SMTP error text may contain quotes. */
static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s PORT [RCPT]\n", argv[0]);
        return 1;
    }
    char *end;
    long port = strtol(argv[1], &end, 10);
    if (*end != '\0' || port <= 0 || port > 65535) {
        fprintf(stderr, "bad port %s\n", argv[1]);
        return 1;
    }
    const char *rcpt = argc == 3 ? argv[2] : "alice@example.test";
    const char *from = env_or("PARLEY_TEST_FROM", "Parley <parley@example.test>");
    char url[64], envelope_from[256], to[300];
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%ld/parley.test", port);
    snprintf(to, sizeof(to), "Alice <%s>", rcpt);

    mail_message_t m = {
        .from = from,
        .to = to,
        .subject = env_or("PARLEY_TEST_SUBJECT", "Test"),
        .text = env_or("PARLEY_TEST_TEXT", "Hello.\n"),
        .html = getenv("PARLEY_TEST_HTML"),
        .list_unsubscribe = getenv("PARLEY_TEST_UNSUB"),
        .message_id_domain = "parley.test",
    };
    char *msg;
    size_t len;
    if (mail_message_render(&m, time(NULL), &msg, &len) != 0 ||
        mail_message_addr_spec(from, envelope_from, sizeof(envelope_from)) != 0) {
        fprintf(stderr, "the message does not render\n");
        return 1;
    }

    mail_global_init();
    mail_smtp_conf_t conf = {
        .url = url,
        .username = getenv("PARLEY_TEST_SMTP_USER"),
        .password = getenv("PARLEY_TEST_SMTP_PASS"),
        .require_tls = strcmp(env_or("PARLEY_TEST_REQUIRE_TLS", "0"), "1") == 0,
        .connect_timeout_ms = 5000,
        .timeout_ms = 20000,
    };
    mail_smtp_result_t res;
    char err[512];
    int rc = mail_smtp_send(&conf, envelope_from, rcpt, msg, len, &res, err, sizeof(err));
    /* "code" is the error table's name for rc, so the test does not depend on the table's numbering. */
    printf("{\"rc\":%d,\"code\":\"%s\",\"permanent\":%s,\"smtp_code\":%ld,\"curl_code\":%d,\"error\":", rc,
           rc != 0 ? core_error_code(rc) : "", res.permanent ? "true" : "false", res.smtp_code, res.curl_code);
    print_json_string(err);
    printf("}\n");
    free(msg);
    mail_global_dispose();
    if (rc == 0)
        return 0;
    return res.permanent ? 3 : 2;
}
