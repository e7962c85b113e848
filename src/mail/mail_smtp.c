/*
 * Handing one rendered message to the SMTP relay with libcurl's easy interface.
 *
 * This is deliberately synchronous: the mailer thread sends one mail at a time and has nothing else to do while
 * it waits, and a blocking call keeps the retry bookkeeping (in the outbox) free of callbacks. The price is that
 * it must never run on a worker's event loop, where a slow relay would stall every request of that thread.
 *
 * What the outbox needs from a failure is one bit: may it retry? RFC 5321 §4.2.1 makes that the first digit of
 * the reply code, 4 (transient) or 5 (permanent), and everything that is not an answer from the server about
 * this message (refused connections, timeouts, TLS and AUTH trouble) is the relay's or the operator's problem
 * and will pass, so it is transient too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/rand.h>
#include "core/core_error.h"
#include "mail/mail.h"

#define CONNECT_TIMEOUT_MS 10000L
#define TOTAL_TIMEOUT_MS 60000L

void mail_global_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        abort();
}

void mail_global_dispose(void)
{
    curl_global_cleanup();
}

struct st_upload_t {
    const char *p;
    size_t left;
};

/* libcurl calls this about once a second even while it only waits for the server, so a stop request is seen
 * within a second instead of after the whole transaction timeout. */
static int on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    const atomic_bool *cancel = clientp;
    return atomic_load(cancel) ? 1 : 0;
}

/* libcurl pulls the DATA payload through here. It also applies SMTP's dot-stuffing to what we return (a line
 * that begins with "." goes out as ".."), so the message is passed through untouched. */
static size_t on_read(char *dst, size_t size, size_t nitems, void *userdata)
{
    struct st_upload_t *up = userdata;
    size_t n = size * nitems;
    if (n > up->left)
        n = up->left;
    memcpy(dst, up->p, n);
    up->p += n;
    up->left -= n;
    return n;
}

/* An envelope address must be a bare addr-spec: the same grammar mail_message_render accepts, without a display
 * name or brackets. libcurl writes it into "MAIL FROM:<…>" / "RCPT TO:<…>" as is, so a CR or LF here would be
 * SMTP command injection. */
static bool is_envelope_addr(const char *addr, bool may_be_empty)
{
    char spec[256];
    if (addr == NULL)
        return false;
    if (addr[0] == '\0')
        return may_be_empty;
    return mail_message_addr_spec(addr, spec, sizeof(spec)) == 0 && strcmp(spec, addr) == 0;
}

/* 5xx answers to MAIL, RCPT, DATA or the end of data are about this message and final; libcurl reports those
 * as send or receive errors and keeps the reply code. The exceptions are the replies about the session rather
 * than the message (RFC 4954 §6 and RFC 3207): 530 authentication required, 534 mechanism too weak, 535 bad
 * credentials (CURLE_LOGIN_DENIED), 538 encryption required. Those are relay settings, and retrying after the
 * operator fixes them delivers the mail instead of dead-lettering every message sent in the meantime. */
static bool is_permanent(CURLcode rc, long smtp_code)
{
    if (smtp_code < 500 || smtp_code > 599)
        return false;
    if (smtp_code == 530 || smtp_code == 534 || smtp_code == 535 || smtp_code == 538)
        return false;
    return rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR;
}

/* smtp.url "file:DIR": the development drop. Each mail becomes DIR/<ms>-<random>.eml (mode 0600, written under a
 * temporary name and renamed, so a reader never sees half a file), with X-Envelope-To naming the recipient. */
static int file_send(const char *dir, const char *rcpt, const char *message, size_t len, mail_smtp_result_t *result,
                     char *errbuf, size_t errlen)
{
    char tmp[4096], final[4096];
    unsigned char rnd[6];
    struct timeval tv;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(errbuf, errlen, "cannot create the mail drop %s: %s", dir, strerror(errno));
        return CORE_ERR_UNAVAILABLE;
    }
    gettimeofday(&tv, NULL);
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        abort();
    unsigned long long ms = (unsigned long long)tv.tv_sec * 1000 + (unsigned long long)tv.tv_usec / 1000;
    int n = snprintf(final, sizeof(final), "%s/%013llu-%02x%02x%02x%02x%02x%02x.eml", dir, ms, rnd[0], rnd[1], rnd[2],
                     rnd[3], rnd[4], rnd[5]);
    if (n < 0 || (size_t)n >= sizeof(final) || snprintf(tmp, sizeof(tmp), "%s.tmp", final) >= (int)sizeof(tmp)) {
        result->permanent = true;
        snprintf(errbuf, errlen, "mail drop path too long");
        return CORE_ERR_INVALID;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(errbuf, errlen, "cannot write %s: %s", tmp, strerror(errno));
        return CORE_ERR_UNAVAILABLE;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL)
        abort();
    bool ok = fprintf(f, "X-Envelope-To: <%s>\r\n", rcpt) > 0 && fwrite(message, 1, len, f) == len;
    ok = fflush(f) == 0 && fsync(fd) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, final) != 0) {
        snprintf(errbuf, errlen, "cannot write %s: %s", final, strerror(errno));
        unlink(tmp);
        return CORE_ERR_UNAVAILABLE;
    }
    result->smtp_code = 250;
    return 0;
}

int mail_smtp_send(const mail_smtp_conf_t *conf, const char *envelope_from, const char *rcpt, const char *message,
                   size_t len, mail_smtp_result_t *result, char *errbuf, size_t errlen)
{
    mail_smtp_result_t dummy;
    char detail[CURL_ERROR_SIZE];
    struct st_upload_t up = {message, len};
    struct curl_slist *rcpts = NULL;
    CURL *curl = NULL;
    CURLcode rc;
    long code = 0;
    int ret;

    if (result == NULL)
        result = &dummy;
    *result = (mail_smtp_result_t){.permanent = false, .smtp_code = 0, .curl_code = 0};
    if (errlen > 0)
        errbuf[0] = '\0';

    if (conf->url == NULL || !is_envelope_addr(envelope_from, true) || !is_envelope_addr(rcpt, false)) {
        result->permanent = true;
        snprintf(errbuf, errlen, "invalid SMTP URL or envelope address");
        return CORE_ERR_INVALID;
    }

    if (strncmp(conf->url, "file:", 5) == 0)
        return file_send(conf->url + 5, rcpt, message, len, result, errbuf, errlen);
    if ((curl = curl_easy_init()) == NULL)
        abort(); /* only fails when out of memory */
    if ((rcpts = curl_slist_append(NULL, rcpt)) == NULL)
        abort();
    detail[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_URL, conf->url);
    /* The URL comes from the config, but a typo must not turn this into an HTTP or FILE client. */
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, envelope_from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &up);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    /* STARTTLS whenever the relay offers it; with require_tls a relay that does not (or a downgrade by someone
     * stripping the capability) fails instead of carrying credentials and mail in clear text. smtps:// is TLS
     * from the first byte either way. Certificates are always verified (libcurl's default). */
    curl_easy_setopt(curl, CURLOPT_USE_SSL, conf->require_tls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY);
    if (conf->ca_file != NULL)
        curl_easy_setopt(curl, CURLOPT_CAINFO, conf->ca_file);
    if (conf->username != NULL) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, conf->username);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, conf->password != NULL ? conf->password : "");
    }
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     conf->connect_timeout_ms > 0 ? conf->connect_timeout_ms : CONNECT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, conf->timeout_ms > 0 ? conf->timeout_ms : TOTAL_TIMEOUT_MS);
    /* Timeouts without SIGALRM: signals belong to main.c, and the mailer is one thread among several. */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);
    if (conf->cancel != NULL) {
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, (void *)conf->cancel);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    }

    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    result->curl_code = (int)rc;
    result->smtp_code = code;
    if (rc == CURLE_OK) {
        ret = 0;
    } else {
        result->permanent = is_permanent(rc, code);
        /* curl's own message names the failed step ("RCPT failed: 550"); the password never appears in it. */
        snprintf(errbuf, errlen, "%s (curl %d, SMTP %ld): %s", curl_easy_strerror(rc), (int)rc, code,
                 detail[0] != '\0' ? detail : "no detail");
        ret = CORE_ERR_UNAVAILABLE;
    }

    curl_slist_free_all(rcpts);
    curl_easy_cleanup(curl);
    return ret;
}
