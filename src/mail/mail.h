#ifndef MAIL_H
#define MAIL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "core/core_config.h"
#include "store/store.h"

/*
 * Outgoing mail, first half: building one RFC 5322 / MIME message (mail_message.c) and handing it to an SMTP
 * relay over libcurl (mail_smtp.c). The outbox (a Redis stream read by the mailer thread, retries with backoff,
 * the dead-letter stream) sits on top of these two and decides what to retry from mail_smtp_result_t.
 *
 * Message rendering is pure and thread-safe. Sending blocks and belongs on the mailer thread only.
 */

/** Start-up, once, before any thread exists: curl_global_init (not thread-safe in libcurl 7.88). Aborts if it
 * fails, which only happens when memory or the TLS library cannot be set up. */
void mail_global_init(void);
/** Shut-down, once, after the mailer thread has been joined: curl_global_cleanup. */
void mail_global_dispose(void);

/* ---- messages ------------------------------------------------------------------------------------------------ */

/**
 * One message to render. All strings are UTF-8 and borrowed: they only need to live during the render call.
 *
 * from and to are single mailboxes: "addr@example.org" or "Display Name <addr@example.org>" (the name may be a
 * quoted string). Group syntax, comments and lists of several addresses are refused, and so is a mailbox with
 * a control character anywhere, an address with white space or non-ASCII bytes, or a stray '<'/'>'. Non-ASCII
 * display names are sent as RFC 2047 encoded-words.
 *
 * The subject is free text: each run of control characters (C0, DEL, C1; so CR, LF and TAB too) becomes one
 * space, which keeps "a\r\nBcc: x" a harmless subject line instead of a new header.
 */
typedef struct st_mail_message_t {
    const char *from;              /**< required mailbox, e.g. the config's smtp.from "Parley <parley@localhost>" */
    const char *to;                /**< required mailbox of the one recipient */
    const char *subject;           /**< required free text; control characters are replaced, see above */
    const char *text;              /**< required text/plain body, LF or CRLF line ends */
    const char *html;              /**< optional text/html alternative (NULL = a single text/plain part) */
    const char *list_unsubscribe;  /**< optional http(s) one-click URL (RFC 8058); NULL = no List-Unsubscribe */
    const char *message_id_domain; /**< right side of Message-ID; NULL = the domain of the From address */
} mail_message_t;

/**
 * Renders M into a complete message ready for SMTP DATA: CRLF line ends everywhere, no line longer than 998
 * octets, ending in CRLF. Headers: Date (NOW, in UTC), From, To, Subject, Message-ID (128 random bits),
 * MIME-Version, Auto-Submitted, the List-Unsubscribe pair when requested, and the content headers. Bodies are
 * UTF-8 in quoted-printable with CRLF line ends (the text may use LF); with an html body the message is
 * multipart/alternative (text first, then html, with a fresh random boundary). A body always ends with a line
 * break; in a multipart message that CRLF belongs to the next boundary (RFC 2046 §5.1.1), so decoders drop a
 * final newline of the text. Lines starting with "." are left as they are: dot-stuffing is SMTP's job.
 *
 * On success returns 0 and stores a malloc'ed, NUL-terminated message in *OUT (caller frees) and its length
 * without the NUL in *OUT_LEN. Returns CORE_ERR_INVALID (and leaves *OUT untouched) when a required field is
 * missing, an address or the List-Unsubscribe URL or the Message-ID domain is malformed or carries a control
 * character, or a text is not valid UTF-8. Out-of-memory aborts. Thread-safe.
 */
int mail_message_render(const mail_message_t *m, time_t now, char **out, size_t *out_len);

/**
 * Extracts the bare addr-spec ("addr@example.org") of MAILBOX (same syntax as mail_message_t.from) into OUT, for
 * the SMTP envelope. Returns 0, or CORE_ERR_INVALID when MAILBOX is malformed or the address does not fit in
 * OUTLEN bytes with its NUL.
 */
int mail_message_addr_spec(const char *mailbox, char *out, size_t outlen);

/* ---- SMTP ---------------------------------------------------------------------------------------------------- */

/** Where and how to send. All strings are borrowed for the duration of mail_smtp_send. */
typedef struct st_mail_smtp_conf_t {
    const char *url;           /**< "smtp://host[:port][/ehlo-name]" (STARTTLS when offered, or required, see below) or
                                    "smtps://host[:port]" (implicit TLS); no credentials in it. "file:DIR" (development):
                                    each mail is written to DIR/<ms>-<random>.eml instead of being sent */
    const char *username;      /**< resolved from the env var named by smtp.username_env; NULL = no AUTH */
    const char *password;      /**< resolved from smtp.password_env; the caller wipes it after use */
    bool require_tls;          /**< true: fail (temporarily) unless STARTTLS succeeds; false: STARTTLS when offered.
                                    Credentials over smtp:// without require_tls go in clear text to a server that
                                    offers no STARTTLS, so set it whenever the relay is not on loopback. */
    const char *ca_file;       /**< PEM CA bundle that verifies the relay's certificate; NULL = the system's store */
    long connect_timeout_ms;   /**< 0 = 10 s */
    long timeout_ms;           /**< whole transaction; 0 = 60 s */
    const atomic_bool *cancel; /**< optional (NULL = none): once it reads true the transfer is aborted within about
                                    a second and reported as a temporary failure (curl_code 42, aborted by
                                    callback); the mailer uses it so a stop never waits for a slow relay */
} mail_smtp_conf_t;

/** What happened to one delivery attempt; filled on every return of mail_smtp_send. */
typedef struct st_mail_smtp_result_t {
    bool permanent; /**< true: retrying cannot help (a 5xx to MAIL, RCPT or DATA, or an invalid argument): the
                         outbox moves the mail to the dead letters. false after a failure: retry later (4xx,
                         connection refused or lost, timeout, TLS or AUTH trouble the operator can fix). */
    long smtp_code; /**< last SMTP reply code seen (250 on success), 0 when none was received */
    int curl_code;  /**< CURLcode of the transfer (0 = CURLE_OK) */
} mail_smtp_result_t;

/**
 * Sends MESSAGE (LEN bytes, as made by mail_message_render) to RCPT with the envelope sender ENVELOPE_FROM
 * (bare addr-specs; ENVELOPE_FROM may be "" for the null reverse-path). One connection per call.
 *
 * Returns 0 when the server accepted the message (250 after DATA). Otherwise returns CORE_ERR_UNAVAILABLE with
 * curl's and the server's explanation in ERRBUF, or CORE_ERR_INVALID (permanent) when an address is malformed;
 * RESULT (may be NULL) says whether the failure is permanent. The password is never written to ERRBUF.
 *
 * Threading: this call blocks for up to conf->timeout_ms on the network. Call it only from the mailer thread,
 * never from a worker's event loop. mail_global_init must have run.
 */
int mail_smtp_send(const mail_smtp_conf_t *conf, const char *envelope_from, const char *rcpt, const char *message,
                   size_t len, mail_smtp_result_t *result, char *errbuf, size_t errlen);

/* --- mail_templates.c --- */

/**
 * Renders the "a comment waits for moderation" mail to one moderator, with one-click approve and spam links.
 * Returns mail_message_render's result; *out is malloc'ed (caller frees).
 */
int mail_template_moderate(const char *from, const char *to, const char *site, const char *url, const char *author,
                           const char *body, const char *approve_link, const char *spam_link, time_t now, char **out,
                           size_t *out_len);

/**
 * Renders the "confirm that you want replies" mail to the author TO of a comment on URL that asked for replies,
 * with the signed CONFIRM_LINK. Same return and ownership as mail_template_moderate.
 */
int mail_template_subscribe(const char *from, const char *to, const char *site, const char *url,
                            const char *confirm_link, time_t now, char **out, size_t *out_len);

/**
 * Renders the "new reply to your comment" mail: AUTHOR's reply BODY (plain text as written) on URL, the link
 * COMMENT_LINK to it, and UNSUBSCRIBE_LINK both in the text and as the List-Unsubscribe header (with
 * List-Unsubscribe-Post: List-Unsubscribe=One-Click, RFC 8058), so it must be an http(s) URL. Same return and
 * ownership as mail_template_moderate.
 */
int mail_template_reply(const char *from, const char *to, const char *site, const char *url, const char *author,
                        const char *body, const char *comment_link, const char *unsubscribe_link, time_t now,
                        char **out, size_t *out_len);

/* Account mails. None ever contains a password. USERNAME is an account's user name ([A-Za-z0-9_.-]); links are
 * absolute URLs. Each returns mail_message_render's result, or CORE_ERR_INVALID (*out untouched) when a user name
 * or link is NULL, empty or holds a control character (refused, not cleaned: a line break there is a bug or an
 * attack upstream); *out is malloc'ed (caller frees). Durations (TTL_S) read as whole hours, or minutes below two hours
 * that are not whole, rounded down. */

/**
 * "Verify your e-mail address for USERNAME": VERIFY_LINK works once, within TTL_S; if this wasn't you, ignore it.
 */
int mail_template_verify(const char *from, const char *to, const char *username, const char *verify_link,
                         uint32_t ttl_s, time_t now, char **out, size_t *out_len);

/**
 * "You already have an account": someone (hopefully you) tried to register with this address, no new account was
 * made; forgot your password? LOST_LINK. With VERIFY_LINK (NULL when the account is verified) it also says the
 * address is not verified yet and gives that link.
 */
int mail_template_already(const char *from, const char *to, const char *lost_link, const char *verify_link, time_t now,
                          char **out, size_t *out_len);

/**
 * "That user name is taken": the user name USERNAME is already taken and no account was created; pick another at
 * REGISTER_LINK.
 */
int mail_template_name_taken(const char *from, const char *to, const char *username, const char *register_link,
                             time_t now, char **out, size_t *out_len);

/**
 * "Reset your password": RESET_LINK works once, within TTL_S; if you did not ask, ignore it and the password stays.
 */
int mail_template_reset(const char *from, const char *to, const char *username, const char *reset_link, uint32_t ttl_s,
                        time_t now, char **out, size_t *out_len);

/**
 * "Your password was changed" (after a reset or a change): you were logged out elsewhere; if this was not you,
 * reset it at once at LOST_LINK.
 */
int mail_template_password_changed(const char *from, const char *to, const char *username, const char *lost_link,
                                   time_t now, char **out, size_t *out_len);

/**
 * "Your comments: download or delete them": MANAGE_LINK (an absolute URL) opens the page where the owner of TO
 * downloads or deletes every comment made with that address, on SITE (a site id) or, when SITE is NULL, on every
 * site; it works for TTL_S, deleting once. Same return and ownership as the account mails (CORE_ERR_INVALID for a
 * link or site that is empty or holds a control character).
 */
int mail_template_privacy(const char *from, const char *to, const char *site, const char *manage_link, uint32_t ttl_s,
                          time_t now, char **out, size_t *out_len);

/* ---- the outbox: the mailer thread (mail_outbox.c) ---------------------------------------------------------- */

/** Process-wide mail counters and queue gauges, read by /metrics. */
typedef struct st_mail_stats_t {
    _Atomic uint64_t sent;     /**< mails the SMTP server accepted */
    _Atomic uint64_t failed;   /**< temporary failures (each one schedules a retry or, when too old, a dead letter) */
    _Atomic uint64_t dead;     /**< mails moved to the dead letters by this process */
    _Atomic uint64_t pending;  /**< gauge: entries in the outbox stream (new or being sent) */
    _Atomic uint64_t delayed;  /**< gauge: mails waiting for a retry */
    _Atomic uint64_t dead_all; /**< gauge: entries in the dead-letter stream (all processes, all time) */
} mail_stats_t;
extern mail_stats_t mail_stats;

/**
 * Starts the one mailer thread when smtp.url is set (else does nothing and returns 0). The thread reads the outbox
 * (store_sync_outbox_next, 500 ms BLOCK), sends each mail with mail_smtp_send and then acknowledges it (accepted),
 * schedules a retry (temporary failure: after smtp.retry_initial_s doubling per attempt, at most 1 h apart, while
 * less than smtp.retry_max_age_s passed since the mail was first queued) or files it as a dead letter (permanent
 * failure, or too old). Delivery is at-least-once: a crash between the server's 250 and the acknowledgement sends
 * the mail again after the restart.
 *
 * The SMTP credentials are read from the environment variables smtp.username_env / smtp.password_env now, once.
 * CFG and TARGET must outlive the thread (until mail_outbox_stop). Call after mail_global_init and
 * store_script_init, with the signals main.c takes by sigwait already blocked (the thread inherits the mask).
 * Returns 0, or CORE_ERR_INVALID (a credential variable is unset or the consumer name cannot be made) or
 * CORE_ERR_UNAVAILABLE (pthread_create failed) with a message in ERRBUF. Not thread-safe; call once.
 */
int mail_outbox_start(const core_config_t *cfg, const store_target_t *target, char *errbuf, size_t errlen);

/**
 * Stops the mailer thread and waits for it: returns within about 1.5 s (the 500 ms BLOCK bounds a wait on Redis,
 * and mail_smtp_conf_t.cancel aborts a transfer in progress, whose mail then stays pending and is sent again on
 * the next start). Wipes the SMTP password. A no-op when the thread was not started; safe to call twice.
 */
void mail_outbox_stop(void);

#endif
