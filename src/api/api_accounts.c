/* Accounts: registration with e-mail verification, login sessions, password change, lost password (security
 * checklist Part 2; the contract is the README's "Accounts" section).
 *
 *   POST /api/v1/auth/register {username,email,password}      202, the same bytes whatever is taken
 *   POST /api/v1/auth/verify {token}  ·  POST /api/v1/auth/verify/resend {email}
 *   POST /api/v1/auth/login {login,password}                   {"token","expires","user"}
 *   POST /api/v1/auth/logout  ·  GET /api/v1/auth/me  ·  GET /api/v1/auth/sessions  ·  DELETE …/sessions/{id}
 *   POST /api/v1/auth/password/change {current,password}
 *   POST /api/v1/auth/password/forgot {email}                  202 always
 *   POST /api/v1/auth/password/reset {token,password}
 *
 * Tokens are "<account id>.<secret>": 16 hex digits naming the account (not secret) and 43 base64url characters of
 * 256 random bits. Redis only ever sees SHA-256 of the secret part. Putting the id in front lets every script name
 * all its keys up front (no key is read from a value), and keeps one account's tokens in that account's records.
 *
 * argon2id and the password policy (zxcvbn) run on the helper threads (api_work.c), never on a loop. Paths that
 * must not tell whether an account exists (register, login, resend, forgot) make the same number of Redis round
 * trips and the same hashing work in both cases. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <openssl/crypto.h>
#include "core/core_argon2.h"
#include "core/core_time.h"
#include "core/core_error.h"
#include "core/core_log.h"
#include "core/core_password.h"
#include "core/core_token.h"
#include "mail/mail.h"
#include "api/api.h"

#define SECRET_CHARS 43 /* base64url of CORE_TOKEN_BYTES */
#define TOKEN_CHARS (STORE_USER_ID_LEN + 1 + SECRET_CHARS)
#define HASH_HEX 64
#define SESSION_ID_CHARS 16
#define TOUCH_MS 60000  /* a session's last-seen time is written at most once a minute */
#define MAX_SESSIONS 20 /* per account; the oldest end beyond it */
#define FAIL_WINDOW_MS 3600000ULL
#define USER_AGENT_MAX 200
/* A password job that waited longer than this for a helper is answered 503 instead of hashed: under a flood the
 * client gets a prompt "busy" rather than a reply so late that it (or h2o's HTTP/1 timeout) gave up. */
#define HASH_WAIT_MAX_MS 5000
/* An account never verified is removed this long after registration (or after verify_ttl_s if longer), so a name
 * or an address cannot be held for ever by someone who does not own the mailbox; until then "resend" works. */
#define UNVERIFIED_LIFE_S (7 * 86400)

static const char *const builtin_reserved[] = {"admin",    "administrator", "moderator",  "root",      "parley",
                                               "support",  "system",        "postmaster", "webmaster", "abuse",
                                               "security", "noreply",       "no-reply",   NULL};

static const char accepted_msg[] = "If the address can be used, a mail is on its way to it. Follow its link.";

static h2o_iovec_t iso_time(h2o_mem_pool_t *pool, uint64_t ms)
{
    char *out = h2o_mem_alloc_pool(pool, CORE_ISO8601_MAX);
    return h2o_iovec_init(out, core_iso8601(ms, false, out));
}

static h2o_iovec_t lower_dup(h2o_mem_pool_t *pool, const char *s, size_t len)
{
    char *out = h2o_mem_alloc_pool(pool, len + 1);
    for (size_t i = 0; i < len; ++i)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[len] = '\0';
    return h2o_iovec_init(out, len);
}

static h2o_iovec_t str_of(const store_value_t *v)
{
    return v->type == STORE_STR ? v->str : h2o_iovec_init("", 0);
}

static void reply_accepted(api_req_t *r)
{
    api_reply_json(r, 202, json_pack("{s:s,s:s}", "status", "accepted", "message", accepted_msg));
}

static void reply_ok(api_req_t *r)
{
    api_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
}

static void reply_retry_after(api_req_t *r, uint32_t seconds, const char *message)
{
    char buf[16];
    int n = snprintf(buf, sizeof(buf), "%u", seconds > 0 ? seconds : 1);
    h2o_add_header(&r->req->pool, &r->req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL,
                   h2o_strdup(&r->req->pool, buf, (size_t)n).base, (size_t)n);
    api_reply_error(r, CORE_ERR_RATE_LIMITED, NULL, message);
}

/* ---- tokens ---- */

/* A fresh account id: 16 hex digits from 64 random bits. */
static h2o_iovec_t new_id(h2o_mem_pool_t *pool)
{
    uint8_t b[STORE_USER_ID_LEN / 2];
    core_random_bytes(b, sizeof(b));
    char *hex = h2o_mem_alloc_pool(pool, STORE_USER_ID_LEN + 1);
    core_hex_encode(b, sizeof(b), hex);
    return h2o_iovec_init(hex, STORE_USER_ID_LEN);
}

static h2o_iovec_t hash_secret(h2o_mem_pool_t *pool, const char *secret, size_t len)
{
    uint8_t d[CORE_SHA256_LEN];
    core_sha256(secret, len, d);
    char *hex = h2o_mem_alloc_pool(pool, HASH_HEX + 1);
    core_hex_encode(d, sizeof(d), hex);
    return h2o_iovec_init(hex, HASH_HEX);
}

/* Makes a token for account ID: *TOKEN is what the user gets, *HASH what Redis keeps. */
static void token_make(h2o_mem_pool_t *pool, h2o_iovec_t id, h2o_iovec_t *token, h2o_iovec_t *hash)
{
    uint8_t secret[CORE_TOKEN_BYTES];
    core_random_bytes(secret, sizeof(secret));
    char *t = h2o_mem_alloc_pool(pool, TOKEN_CHARS + 1);
    memcpy(t, id.base, STORE_USER_ID_LEN);
    t[STORE_USER_ID_LEN] = '.';
    core_base64url_encode(secret, sizeof(secret), t + STORE_USER_ID_LEN + 1);
    OPENSSL_cleanse(secret, sizeof(secret));
    *token = h2o_iovec_init(t, TOKEN_CHARS);
    *hash = hash_secret(pool, t + STORE_USER_ID_LEN + 1, SECRET_CHARS);
}

/* Splits a token into account id and hash of its secret; false when it cannot be one of ours. */
static bool token_parse(h2o_mem_pool_t *pool, const char *s, size_t len, h2o_iovec_t *id, h2o_iovec_t *hash)
{
    if (s == NULL || len != TOKEN_CHARS || s[STORE_USER_ID_LEN] != '.')
        return false;
    for (size_t i = 0; i < STORE_USER_ID_LEN; ++i)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    uint8_t secret[CORE_TOKEN_BYTES + 2];
    if (core_base64url_decode(s + STORE_USER_ID_LEN + 1, SECRET_CHARS, secret, sizeof(secret)) != CORE_TOKEN_BYTES)
        return false;
    *id = h2o_strdup(pool, s, STORE_USER_ID_LEN);
    *hash = hash_secret(pool, s + STORE_USER_ID_LEN + 1, SECRET_CHARS);
    return true;
}

/* ---- input checks ---- */

static bool is_reserved(const core_config_t *cfg, h2o_iovec_t lc)
{
    for (size_t i = 0; builtin_reserved[i] != NULL; ++i)
        if (h2o_memis(lc.base, lc.len, builtin_reserved[i], strlen(builtin_reserved[i])))
            return true;
    for (size_t i = 0; i < cfg->accounts.num_reserved_names; ++i)
        if (h2o_memis(lc.base, lc.len, cfg->accounts.reserved_names[i], strlen(cfg->accounts.reserved_names[i])))
            return true;
    for (size_t i = 0; i < cfg->num_sites; ++i)
        if (h2o_memis(lc.base, lc.len, cfg->sites[i].id, strlen(cfg->sites[i].id)))
            return true;
    return false;
}

/* User names: 3 to 30 of A-Z a-z 0-9 _ . - (so they are safe in mails, URLs and logs as they are). */
static bool username_or_reply(api_req_t *r, const char *s, size_t len)
{
    bool ok = len >= 3 && len <= 30;
    for (size_t i = 0; ok && i < len; ++i)
        ok = isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-';
    if (!ok) {
        api_reply_error(r, CORE_ERR_INVALID, "username",
                        "Choose a user name of 3 to 30 letters, digits, dots, dashes or underscores.");
        return false;
    }
    if (is_reserved(r->env->cfg, lower_dup(&r->req->pool, s, len))) {
        api_reply_error(r, CORE_ERR_INVALID, "username", "That user name is reserved; choose another.");
        return false;
    }
    return true;
}

static void trim_space(const char **s, size_t *len)
{
    while (*len > 0 && isspace((unsigned char)**s)) {
        ++*s;
        --*len;
    }
    while (*len > 0 && isspace((unsigned char)(*s)[*len - 1]))
        --*len;
}

/* Account addresses must be deliverable by SMTP as they are: printable ASCII only (no SMTPUTF8). */
static bool email_or_reply(api_req_t *r, const char **s, size_t *len)
{
    trim_space(s, len);
    bool ok = *len <= 254 && api_is_email(*s, *len);
    for (size_t i = 0; ok && i < *len; ++i)
        ok = (unsigned char)(*s)[i] > 0x20 && (unsigned char)(*s)[i] < 0x7f;
    if (!ok)
        api_reply_error(r, CORE_ERR_INVALID, "email", "Give a valid e-mail address.");
    return ok;
}

/* Reads the listed string fields (all required, no others allowed); replies and returns -1 on a problem. */
static int strings_or_reply(api_req_t *r, const char *const *keys, const char **vals, size_t *lens)
{
    core_json_err_t jerr;
    if (core_json_only_keys(r->body, keys, &jerr) != 0) {
        api_reply_json_error(r, &jerr);
        return -1;
    }
    for (size_t i = 0; keys[i] != NULL; ++i) {
        if (core_json_get_string(r->body, keys[i], true, 0, &vals[i], &lens[i], &jerr) != 0) {
            api_reply_json_error(r, &jerr);
            return -1;
        }
        if (lens[i] > CORE_PASSWORD_MAX_INPUT_BYTES) {
            bool token = strcmp(keys[i], "token") == 0;
            api_reply_error(r, token ? CORE_ERR_TOKEN_INVALID : CORE_ERR_INVALID, keys[i],
                            token ? NULL : "This is far too long.");
            return -1;
        }
    }
    return 0;
}

static bool mail_or_reply(api_req_t *r)
{
    if (r->env->cfg->smtp.url != NULL)
        return true;
    api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL,
                    "Accounts need e-mail, and this server has no mail relay configured (smtp.url).");
    return false;
}

/* A keyed hash (32 hex digits) of a lower-cased login name or address, for limits on names without an account. */
static h2o_iovec_t login_hash(api_req_t *r, const char *tag, h2o_iovec_t lc)
{
    size_t tl = strlen(tag);
    char *msg = h2o_mem_alloc_pool(&r->req->pool, tl + lc.len);
    memcpy(msg, tag, tl);
    memcpy(msg + tl, lc.base, lc.len);
    uint8_t mac[CORE_SHA256_LEN];
    core_hmac_sha256(r->env->secret, r->env->secret_len, msg, tl + lc.len, mac);
    char *hex = h2o_mem_alloc_pool(&r->req->pool, 33);
    core_hex_encode(mac, 16, hex);
    return h2o_iovec_init(hex, 32);
}

static bool is_admin_email(const core_config_t *cfg, h2o_iovec_t email)
{
    for (size_t i = 0; i < cfg->accounts.num_admin_emails; ++i)
        if (h2o_lcstris(email.base, email.len, cfg->accounts.admin_emails[i], strlen(cfg->accounts.admin_emails[i])))
            return true;
    return false;
}

static json_t *user_json(api_req_t *r, h2o_iovec_t id, h2o_iovec_t name, h2o_iovec_t email, uint64_t created)
{
    h2o_iovec_t c = iso_time(&r->req->pool, created);
    return json_pack("{s:s%,s:s%,s:s%,s:b,s:s,s:s%}", "id", id.base, id.len, "username", name.base, name.len, "email",
                     email.base, email.len, "verified", 1, "role",
                     is_admin_email(r->env->cfg, email) ? "admin" : "user", "created", c.base, c.len);
}

/* ---- mails ---- */

static const char *mail_link(api_req_t *r, const char *path, h2o_iovec_t token)
{
    const char *base = r->env->cfg->public_url;
    size_t n = strlen(base) + strlen(path) + token.len + 8;
    char *out = h2o_mem_alloc_pool(&r->req->pool, n);
    if (token.len != 0)
        snprintf(out, n, "%s%s#token=%.*s", base, path, (int)token.len, token.base);
    else
        snprintf(out, n, "%s%s", base, path);
    return out;
}

/* A rendered mail (malloc'ed by the template) moved into the pool so it lives with the request. */
static h2o_iovec_t mail_into_pool(api_req_t *r, int rc, char *msg, size_t len)
{
    if (rc != 0 || msg == NULL)
        return h2o_iovec_init(NULL, 0);
    h2o_iovec_t out = h2o_strdup(&r->req->pool, msg, len);
    OPENSSL_cleanse(msg, len); /* it may hold a token */
    free(msg);
    return out;
}

/* The envelope sender: the bare address of smtp.from, or "" (null reverse-path) if it does not parse. */
static const char *envelope_from(api_req_t *r)
{
    char buf[300];
    if (mail_message_addr_spec(r->env->cfg->smtp.from, buf, sizeof(buf)) != 0)
        return "";
    return h2o_strdup(&r->req->pool, buf, strlen(buf)).base;
}

static void on_mail_queued(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    api_req_t *r = data;
    if (err != 0)
        core_log_warn("accounts: a mail could not be queued (Redis unavailable)");
    reply_accepted(r);
}

/* Queues MSG to RCPT then answers 202 (a failure to queue is logged: the answer must not differ). */
static void queue_then_accept(api_req_t *r, const char *rcpt, h2o_iovec_t msg)
{
    if (msg.len == 0 || store_outbox_add(r->env->store, r->req, envelope_from(r), rcpt, msg, on_mail_queued, r) != 0) {
        if (msg.len == 0)
            core_log_warn("accounts: a mail could not be rendered");
        reply_accepted(r);
    }
}

/* ---- helper-thread jobs: password policy, argon2 ---- */

typedef enum { JOB_HASH, JOB_VERIFY, JOB_CHANGE } job_op_t;

struct st_pwjob_t {
    job_op_t op;
    char *pw; /* the new password (HASH, CHANGE) or the one to check (VERIFY); wiped and freed */
    size_t pw_len;
    char *current; /* CHANGE: the current password */
    size_t current_len;
    char *username, *email; /* policy context (may be NULL) */
    uint32_t min_chars;
    core_argon2_params_t params;
    char phc[CORE_ARGON2_PHC_MAX];    /* in: the stored hash (VERIFY, CHANGE; "" = no account); out: the new one */
    char rehash[CORE_ARGON2_PHC_MAX]; /* VERIFY: a hash under today's cost when the stored one is weaker, else "" */
    int result; /* 0, CORE_ERR_INVALID (policy: why), CORE_ERR_UNAUTHORIZED (no match), CORE_ERR_UNAVAILABLE (busy) */
    uint64_t queued_ms;
    char why[CORE_PASSWORD_WHY_MAX];
    void *state; /* the handler's state in the request pool; read only in done, which runs only while it lives */
};

static char *dup_secret(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (p == NULL)
        abort();
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

static void pwjob_free(void *arg)
{
    struct st_pwjob_t *j = arg;
    core_password_free(j->pw, j->pw_len);
    core_password_free(j->current, j->current_len);
    free(j->username);
    free(j->email);
    OPENSSL_cleanse(j, sizeof(*j));
    free(j);
}

static struct st_pwjob_t *pwjob_new(api_req_t *r, job_op_t op, const char *pw, size_t len, void *state)
{
    struct st_pwjob_t *j = calloc(1, sizeof(*j));
    if (j == NULL)
        abort();
    const core_config_t *cfg = r->env->cfg;
    j->op = op;
    j->pw = dup_secret(pw, len);
    j->pw_len = len;
    j->min_chars = cfg->accounts.password_min_chars;
    j->params = (core_argon2_params_t){
        .m_kib = cfg->accounts.argon2_memory_kib, .t = cfg->accounts.argon2_passes, .p = cfg->accounts.argon2_lanes};
    j->state = state;
    j->queued_ms = core_now_ms();
    return j;
}

/* Checks PW against PHC ("" = no account: hash a dummy so the time is the same). */
static int check_password(struct st_pwjob_t *j, const char *pw, size_t len)
{
    char *norm = NULL;
    size_t norm_len = 0;
    if (j->phc[0] == '\0' || core_password_normalize(pw, len, &norm, &norm_len) != 0) {
        core_argon2_dummy(&j->params);
        return CORE_ERR_UNAUTHORIZED;
    }
    int rc = core_argon2_verify(j->phc, norm, norm_len) == 0 ? 0 : CORE_ERR_UNAUTHORIZED;
    core_password_free(norm, norm_len);
    return rc;
}

static int hash_new(struct st_pwjob_t *j)
{
    if (core_password_check(j->pw, j->pw_len, j->username, j->email, j->min_chars, j->why, sizeof(j->why)) != 0)
        return CORE_ERR_INVALID;
    char *norm = NULL;
    size_t norm_len = 0;
    if (core_password_normalize(j->pw, j->pw_len, &norm, &norm_len) != 0) {
        snprintf(j->why, sizeof(j->why), "The password is not valid text.");
        return CORE_ERR_INVALID;
    }
    int rc = core_argon2_hash(norm, norm_len, &j->params, j->phc, sizeof(j->phc));
    core_password_free(norm, norm_len);
    return rc == 0 ? 0 : CORE_ERR_INTERNAL;
}

static void pwjob_work(void *arg)
{
    struct st_pwjob_t *j = arg;
    if (core_now_ms() - j->queued_ms > HASH_WAIT_MAX_MS) {
        j->result = CORE_ERR_UNAVAILABLE;
        return;
    }
    switch (j->op) {
    case JOB_HASH:
        j->phc[0] = '\0';
        j->result = hash_new(j);
        break;
    case JOB_VERIFY:
        j->result = check_password(j, j->pw, j->pw_len);
        if (j->result == 0 && core_argon2_needs_rehash(j->phc, &j->params)) {
            /* The cost was raised since this hash was made: hash the same password again (checklist B.9). */
            char *norm = NULL;
            size_t norm_len = 0;
            if (core_password_normalize(j->pw, j->pw_len, &norm, &norm_len) == 0) {
                if (core_argon2_hash(norm, norm_len, &j->params, j->rehash, sizeof(j->rehash)) != 0)
                    j->rehash[0] = '\0';
                core_password_free(norm, norm_len);
            }
        }
        break;
    case JOB_CHANGE:
        j->result = check_password(j, j->current, j->current_len);
        if (j->result == 0)
            j->result = hash_new(j);
        break;
    }
}

static void reply_busy(api_req_t *r)
{
    h2o_add_header(&r->req->pool, &r->req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("2"));
    api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, "The server is busy checking passwords; try again in a moment.");
}

/* True (and answers 503) when the job was dropped because it waited too long for a helper. */
static bool busy_replied(api_req_t *r, const struct st_pwjob_t *j)
{
    if (j->result != CORE_ERR_UNAVAILABLE)
        return false;
    reply_busy(r);
    return true;
}

static bool submit_or_reply(api_req_t *r, struct st_pwjob_t *j, api_work_done_fn done)
{
    if (api_work_submit(r, pwjob_work, done, j, pwjob_free) == 0)
        return true;
    pwjob_free(j);
    reply_busy(r);
    return false;
}

/* ---- register ---- */

struct st_register_t {
    api_req_t *r;
    h2o_iovec_t username, email, email_lc, id, token, hash;
};

static void on_registered(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_register_t *g = data;
    api_req_t *r = g->r;
    if (err != 0 || n < 1 || v[0].type != STORE_ARR || v[0].num_items < 1) {
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    const core_config_t *cfg = r->env->cfg;
    h2o_iovec_t result = str_of(&v[0].items[0]);
    char *msg = NULL;
    size_t len = 0;
    time_t now = time(NULL);
    if (h2o_memis(result.base, result.len, H2O_STRLIT("ok"))) {
        int rc = mail_template_verify(cfg->smtp.from, g->email.base, g->username.base,
                                      mail_link(r, "/account/verify", g->token), cfg->accounts.verify_ttl_s, now, &msg,
                                      &len);
        queue_then_accept(r, g->email.base, mail_into_pool(r, rc, msg, len));
    } else if (h2o_memis(result.base, result.len, H2O_STRLIT("email")) && v[0].num_items >= 3) {
        /* The address has an account: tell its owner, not the requester. An unverified one gets a fresh link. */
        h2o_iovec_t id = str_of(&v[0].items[1]);
        bool unverified = store_parse_u64(v[0].items[2].str.base, v[0].items[2].str.len) != 0;
        h2o_iovec_t token = {NULL, 0}, hash = {NULL, 0};
        if (unverified)
            token_make(&r->req->pool, id, &token, &hash);
        int rc = mail_template_already(cfg->smtp.from, g->email.base,
                                       mail_link(r, "/account/lost-password", h2o_iovec_init(NULL, 0)),
                                       unverified ? mail_link(r, "/account/verify", token) : NULL, now, &msg, &len);
        h2o_iovec_t m = mail_into_pool(r, rc, msg, len);
        if (unverified && m.len != 0) {
            uint64_t exp = core_now_ms() + (uint64_t)cfg->accounts.verify_ttl_s * 1000;
            if (store_user_token(r->env->store, r->req, id, "verify", hash, exp, envelope_from(r), g->email.base, m,
                                 on_mail_queued, r) == 0)
                return;
            reply_accepted(r);
        } else {
            queue_then_accept(r, g->email.base, m);
        }
    } else if (h2o_memis(result.base, result.len, H2O_STRLIT("name"))) {
        int rc = mail_template_name_taken(cfg->smtp.from, g->email.base, g->username.base,
                                          mail_link(r, "/account/register", h2o_iovec_init(NULL, 0)), now, &msg, &len);
        queue_then_accept(r, g->email.base, mail_into_pool(r, rc, msg, len));
    } else {
        /* 'retry': a random 64-bit id collided. Rare enough to ask the client to try again. */
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
    }
}

static void on_register_hashed(api_req_t *r, void *arg)
{
    struct st_pwjob_t *j = arg;
    struct st_register_t *g = j->state;
    if (busy_replied(r, j))
        return;
    if (j->result == CORE_ERR_INVALID) {
        api_reply_error(r, CORE_ERR_INVALID, "password", j->why);
        return;
    }
    if (j->result != 0) {
        api_reply_error(r, CORE_ERR_INTERNAL, NULL, NULL);
        return;
    }
    const core_config_t *cfg = r->env->cfg;
    uint64_t now = core_now_ms();
    g->id = new_id(&r->req->pool);
    token_make(&r->req->pool, g->id, &g->token, &g->hash);
    store_user_new_t u = {.id = g->id,
                          .name = g->username,
                          .name_lc = lower_dup(&r->req->pool, g->username.base, g->username.len),
                          .email = g->email,
                          .email_lc = g->email_lc,
                          .phc = h2o_strdup(&r->req->pool, j->phc, strlen(j->phc)),
                          .verify_hash = g->hash,
                          .now_ms = now,
                          .verify_exp_ms = now + (uint64_t)cfg->accounts.verify_ttl_s * 1000,
                          .unverified_ttl_ms =
                              (uint64_t)(cfg->accounts.verify_ttl_s > UNVERIFIED_LIFE_S ? cfg->accounts.verify_ttl_s
                                                                                        : UNVERIFIED_LIFE_S) *
                              1000};
    if (store_user_register(r->env->store, r->req, &u, on_registered, g) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

static void on_register_limit(h2o_req_t *req, int err, bool allowed, uint32_t retry_after_s, void *data)
{
    struct st_pwjob_t *j = data;
    struct st_register_t *g = j->state;
    if (err != 0) {
        pwjob_free(j);
        api_reply_error(g->r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    if (!allowed) {
        pwjob_free(j);
        reply_retry_after(g->r, retry_after_s, "Too many registrations from your network; try again later.");
        return;
    }
    submit_or_reply(g->r, j, on_register_hashed);
}

void api_accounts_register(api_req_t *r)
{
    static const char *const keys[] = {"username", "email", "password", NULL};
    const char *v[3];
    size_t l[3];
    if (strings_or_reply(r, keys, v, l) != 0 || !username_or_reply(r, v[0], l[0]) || !email_or_reply(r, &v[1], &l[1]))
        return;
    if (!mail_or_reply(r))
        return;
    struct st_register_t *g = h2o_mem_alloc_pool(&r->req->pool, sizeof(*g));
    memset(g, 0, sizeof(*g));
    g->r = r;
    g->username = h2o_strdup(&r->req->pool, v[0], l[0]);
    g->email = h2o_strdup(&r->req->pool, v[1], l[1]);
    g->email_lc = lower_dup(&r->req->pool, v[1], l[1]);
    struct st_pwjob_t *j = pwjob_new(r, JOB_HASH, v[2], l[2], g);
    j->username = dup_secret(v[0], l[0]);
    j->email = dup_secret(v[1], l[1]);
    uint32_t per_hour = r->env->cfg->accounts.register_per_hour;
    if (per_hour == 0) {
        submit_or_reply(r, j, on_register_hashed);
        return;
    }
    if (store_limit_hit(r->env->store, r->req, "register", api_client_key(r), per_hour, 3600, on_register_limit, j) !=
        0) {
        pwjob_free(j);
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
    }
}

/* ---- verify ---- */

static void on_verified(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    api_req_t *r = data;
    if (err != 0 || n < 1) {
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    if (!h2o_memis(str_of(&v[0]).base, str_of(&v[0]).len, H2O_STRLIT("ok"))) {
        api_reply_error(r, CORE_ERR_TOKEN_INVALID, "token", NULL);
        return;
    }
    api_reply_json(r, 200, json_pack("{s:b}", "verified", 1));
}

void api_accounts_verify(api_req_t *r)
{
    static const char *const keys[] = {"token", NULL};
    const char *v[1];
    size_t l[1];
    if (strings_or_reply(r, keys, v, l) != 0)
        return;
    h2o_iovec_t id, hash;
    if (!token_parse(&r->req->pool, v[0], l[0], &id, &hash)) {
        api_reply_error(r, CORE_ERR_TOKEN_INVALID, "token", NULL);
        return;
    }
    if (store_user_verify(r->env->store, r->req, id, hash, core_now_ms(), on_verified, r) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

/* ---- resend and forgot: mail a token to an address if it has an account, same answer either way ---- */

struct st_mailtoken_t {
    api_req_t *r;
    bool reset; /* forgot (reset token) or resend (verification token) */
    h2o_iovec_t email, email_lc, id;
    bool live;
    uint64_t exp;
    h2o_iovec_t name;
};

static void on_mail_limit(h2o_req_t *req, int err, bool allowed, uint32_t retry_after_s, void *data)
{
    struct st_mailtoken_t *m = data;
    api_req_t *r = m->r;
    const core_config_t *cfg = r->env->cfg;
    /* Whether to mail: an account that exists, is within its mail budget, and (resend) is not verified yet. */
    bool send = err == 0 && allowed && m->live && (m->reset || m->exp != 0);
    h2o_iovec_t token, hash, msg = {NULL, 0};
    token_make(&r->req->pool, send ? m->id : h2o_iovec_init(H2O_STRLIT("0000000000000000")), &token, &hash);
    uint32_t ttl = m->reset ? cfg->accounts.reset_ttl_s : cfg->accounts.verify_ttl_s;
    if (send) {
        char *out = NULL;
        size_t len = 0;
        int rc = m->reset ? mail_template_reset(cfg->smtp.from, m->email.base, m->name.base,
                                                mail_link(r, "/account/reset", token), ttl, time(NULL), &out, &len)
                          : mail_template_verify(cfg->smtp.from, m->email.base, m->name.base,
                                                 mail_link(r, "/account/verify", token), ttl, time(NULL), &out, &len);
        msg = mail_into_pool(r, rc, out, len);
    }
    /* Without a mail to send this still runs the script, against an id that has no account, so both paths cost
     * the same round trips. */
    if (store_user_token(r->env->store, r->req, send ? m->id : h2o_iovec_init(H2O_STRLIT("0000000000000000")),
                         m->reset ? "reset" : "verify", hash, core_now_ms() + (uint64_t)ttl * 1000, envelope_from(r),
                         m->email.base, msg, on_mail_queued, r) != 0)
        reply_accepted(r);
}

static void on_mail_user(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_mailtoken_t *m = data;
    api_req_t *r = m->r;
    if (err != 0 || n < 1) {
        reply_accepted(r);
        return;
    }
    if (v[0].type == STORE_ARR && v[0].num_items >= 2 && v[0].items[0].type == STORE_STR &&
        v[0].items[1].type == STORE_STR) {
        /* Mail the address as the account stored it, not as this request spelled it. */
        m->name = v[0].items[0].str;
        m->email = v[0].items[1].str;
    } else {
        m->live = false;
    }
    h2o_iovec_t who = m->live ? m->id : login_hash(r, "mail\n", m->email_lc);
    if (store_limit_hit(r->env->store, r->req, m->reset ? "reset-mail" : "verify-mail", who,
                        r->env->cfg->accounts.mails_per_hour, 3600, on_mail_limit, m) != 0)
        reply_accepted(r);
}

static void on_mail_found(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_mailtoken_t *m = data;
    api_req_t *r = m->r;
    if (err != 0 || n < 2) {
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    char id[STORE_USER_ID_LEN + 1];
    m->live = store_user_entry(&v[1], core_now_ms(), id, &m->exp);
    m->id = m->live ? h2o_strdup(&r->req->pool, id, STORE_USER_ID_LEN) : h2o_iovec_init(H2O_STRLIT("0000000000000000"));
    if (store_user_read(r->env->store, r->req, m->id, h2o_iovec_init(H2O_STRLIT("-")), on_mail_user, m) != 0)
        reply_accepted(r);
}

static void mail_token(api_req_t *r, bool reset)
{
    static const char *const keys[] = {"email", NULL};
    const char *v[1];
    size_t l[1];
    if (strings_or_reply(r, keys, v, l) != 0 || !email_or_reply(r, &v[0], &l[0]) || !mail_or_reply(r))
        return;
    struct st_mailtoken_t *m = h2o_mem_alloc_pool(&r->req->pool, sizeof(*m));
    memset(m, 0, sizeof(*m));
    m->r = r;
    m->reset = reset;
    m->email = h2o_strdup(&r->req->pool, v[0], l[0]);
    m->email_lc = lower_dup(&r->req->pool, v[0], l[0]);
    if (store_user_find(r->env->store, r->req, h2o_iovec_init(NULL, 0), m->email_lc, on_mail_found, m) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

void api_accounts_resend(api_req_t *r)
{
    mail_token(r, false);
}

void api_accounts_forgot(api_req_t *r)
{
    mail_token(r, true);
}

/* ---- login ---- */

struct st_login_t {
    api_req_t *r;
    h2o_iovec_t login_lc, lhash, id; /* id empty: no such account */
    h2o_iovec_t name, email;
    uint64_t created;
    bool verified;
    h2o_iovec_t token, hash;
    const char *pw;
    size_t pw_len;
};

static void on_session(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_login_t *g = data;
    api_req_t *r = g->r;
    if (err != 0 || n < 1 || !h2o_memis(str_of(&v[0]).base, str_of(&v[0]).len, H2O_STRLIT("ok"))) {
        api_reply_error(r, err != 0 ? CORE_ERR_UNAVAILABLE : CORE_ERR_INVALID_CREDENTIALS, NULL, NULL);
        return;
    }
    h2o_iovec_t exp = iso_time(&r->req->pool, core_now_ms() + (uint64_t)r->env->cfg->accounts.session_max_s * 1000);
    core_log_info("accounts: login of %.*s", (int)g->id.len, g->id.base);
    api_reply_json(r, 200,
                   json_pack("{s:s%,s:s%,s:o}", "token", g->token.base, g->token.len, "expires", exp.base, exp.len,
                             "user", user_json(r, g->id, g->name, g->email, g->created)));
}

static void on_failed(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_login_t *g = data;
    api_reply_error(g->r, err != 0 ? CORE_ERR_UNAVAILABLE : CORE_ERR_INVALID_CREDENTIALS, NULL, NULL);
}

static void on_rehashed(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    if (err != 0)
        core_log_warn("accounts: a password hash could not be upgraded (Redis unavailable)");
}

static void on_login_checked(api_req_t *r, void *arg)
{
    struct st_pwjob_t *j = arg;
    struct st_login_t *g = j->state;
    if (busy_replied(r, j))
        return;
    const core_config_t *cfg = r->env->cfg;
    if (j->result != 0 || g->id.len == 0) {
        core_log_info("accounts: failed login");
        if (store_user_fail(r->env->store, r->req, g->id, g->lhash, core_now_ms(), cfg->accounts.free_failures,
                            (uint64_t)cfg->accounts.max_delay_s * 1000, FAIL_WINDOW_MS, on_failed, g) != 0)
            api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    if (!g->verified) {
        api_reply_error(r, CORE_ERR_EMAIL_UNVERIFIED, NULL,
                        "Verify your e-mail address first: follow the link in the mail we sent, or ask for a new one "
                        "(POST /api/v1/auth/verify/resend).");
        return;
    }
    if (j->rehash[0] != '\0') {
        /* Fire and forget: the login does not wait for it, and a lost upgrade is retried at the next login. */
        h2o_iovec_t fresh = h2o_strdup(&r->req->pool, j->rehash, strlen(j->rehash));
        h2o_iovec_t old = h2o_strdup(&r->req->pool, j->phc, strlen(j->phc));
        store_user_password(r->env->store, r->req, g->id, "rehash", h2o_iovec_init("", 0), fresh, old, core_now_ms(),
                            on_rehashed, NULL);
    }
    token_make(&r->req->pool, g->id, &g->token, &g->hash);
    h2o_iovec_t ua = {NULL, 0};
    ssize_t i = h2o_find_header(&r->req->headers, H2O_TOKEN_USER_AGENT, -1);
    if (i >= 0) {
        ua = r->req->headers.entries[i].value;
        if (ua.len > USER_AGENT_MAX)
            ua.len = USER_AGENT_MAX;
        ua = h2o_strdup(&r->req->pool, ua.base, ua.len);
    }
    if (store_session_create(r->env->store, r->req, g->id, g->hash, ua, core_now_ms(),
                             (uint64_t)cfg->accounts.session_idle_s * 1000,
                             (uint64_t)cfg->accounts.session_max_s * 1000, MAX_SESSIONS, on_session, g) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

static void on_login_read(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_login_t *g = data;
    api_req_t *r = g->r;
    if (err != 0 || n < 2 || v[0].type != STORE_ARR || v[0].num_items < 5 || v[1].type != STORE_ARR ||
        v[1].num_items < 2) {
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    uint64_t until = store_parse_u64(str_of(&v[1].items[1]).base, str_of(&v[1].items[1]).len), now = core_now_ms();
    if (until > now) {
        reply_retry_after(r, (uint32_t)((until - now + 999) / 1000),
                          "Too many failed logins; wait a moment before the next attempt.");
        return;
    }
    const store_value_t *u = v[0].items;
    struct st_pwjob_t *j = pwjob_new(r, JOB_VERIFY, g->pw, g->pw_len, g);
    if (g->id.len != 0 && u[2].type == STORE_STR && u[2].str.len < sizeof(j->phc)) {
        memcpy(j->phc, u[2].str.base, u[2].str.len);
        j->phc[u[2].str.len] = '\0';
        g->name = str_of(&u[0]);
        g->email = str_of(&u[1]);
        g->verified = h2o_memis(str_of(&u[3]).base, str_of(&u[3]).len, H2O_STRLIT("1"));
        g->created = store_parse_u64(str_of(&u[4]).base, str_of(&u[4]).len);
    } else {
        g->id = h2o_iovec_init(NULL, 0); /* the account vanished between the two reads: an unknown login */
    }
    submit_or_reply(r, j, on_login_checked);
}

static void on_login_found(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_login_t *g = data;
    api_req_t *r = g->r;
    if (err != 0 || n < 2) {
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    char id[STORE_USER_ID_LEN + 1];
    uint64_t exp;
    if (store_user_entry(&v[0], core_now_ms(), id, &exp) || store_user_entry(&v[1], core_now_ms(), id, &exp))
        g->id = h2o_strdup(&r->req->pool, id, STORE_USER_ID_LEN);
    /* An unknown login still reads (nothing) and counts its failures under its keyed hash. */
    if (store_user_read(r->env->store, r->req, g->id, g->lhash, on_login_read, g) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

void api_accounts_login(api_req_t *r)
{
    static const char *const keys[] = {"login", "password", NULL};
    const char *v[2];
    size_t l[2];
    if (strings_or_reply(r, keys, v, l) != 0)
        return;
    trim_space(&v[0], &l[0]);
    if (l[0] == 0 || l[0] > 254) {
        api_reply_error(r, CORE_ERR_INVALID, "login", "Give your user name or e-mail address.");
        return;
    }
    if (l[1] == 0) {
        api_reply_error(r, CORE_ERR_INVALID, "password", "Give your password.");
        return;
    }
    struct st_login_t *g = h2o_mem_alloc_pool(&r->req->pool, sizeof(*g));
    memset(g, 0, sizeof(*g));
    g->r = r;
    g->login_lc = lower_dup(&r->req->pool, v[0], l[0]);
    g->lhash = login_hash(r, "login\n", g->login_lc);
    g->pw = v[1]; /* borrowed from r->body, which lives as long as the request */
    g->pw_len = l[1];
    bool by_email = memchr(v[0], '@', l[0]) != NULL;
    if (store_user_find(r->env->store, r->req, by_email ? h2o_iovec_init(NULL, 0) : g->login_lc,
                        by_email ? g->login_lc : h2o_iovec_init(NULL, 0), on_login_found, g) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

/* ---- sessions: resolving a bearer token ---- */

struct st_resolve_t {
    api_req_t *r;
    api_user_t user;
    api_user_cb cb;
    void *data;
};

static void on_touched(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_resolve_t *s = data;
    if (err != 0 || n < 1 || v[0].type != STORE_ARR) {
        s->cb(s->r, err != 0 ? CORE_ERR_UNAVAILABLE : 0, NULL, s->data);
        return;
    }
    const store_value_t *it = v[0].items;
    if (v[0].num_items < 5 || !h2o_memis(str_of(&it[0]).base, str_of(&it[0]).len, H2O_STRLIT("ok"))) {
        s->cb(s->r, 0, NULL, s->data);
        return;
    }
    s->user.name = str_of(&it[1]);
    s->user.email = str_of(&it[2]);
    s->user.created_ms = store_parse_u64(str_of(&it[3]).base, str_of(&it[3]).len);
    s->user.admin = is_admin_email(s->r->env->cfg, s->user.email);
    s->cb(s->r, 0, &s->user, s->data);
}

bool api_bearer(api_req_t *r, h2o_iovec_t *token)
{
    ssize_t i = h2o_find_header(&r->req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i < 0)
        return false;
    h2o_iovec_t v = r->req->headers.entries[i].value;
    if (v.len <= 7 || strncasecmp(v.base, "Bearer ", 7) != 0)
        return false;
    *token = h2o_iovec_init(v.base + 7, v.len - 7);
    return true;
}

int api_user_resolve(api_req_t *r, api_user_cb cb, void *data)
{
    h2o_iovec_t token;
    if (!api_bearer(r, &token))
        return CORE_ERR_UNAUTHORIZED;
    struct st_resolve_t *s = h2o_mem_alloc_pool(&r->req->pool, sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->r = r;
    s->cb = cb;
    s->data = data;
    if (!token_parse(&r->req->pool, token.base, token.len, &s->user.id, &s->user.session))
        return CORE_ERR_UNAUTHORIZED;
    const core_config_t *cfg = r->env->cfg;
    return store_session_touch(r->env->store, r->req, s->user.id, s->user.session, core_now_ms(),
                               (uint64_t)cfg->accounts.session_idle_s * 1000,
                               (uint64_t)cfg->accounts.session_max_s * 1000, TOUCH_MS, on_touched, s);
}

/* Runs GO once the request's session is resolved, or answers 401 (503 when Redis is down). */
typedef void (*with_user_fn)(api_req_t *r, const api_user_t *user);

static void reply_unauthorized(api_req_t *r)
{
    h2o_add_header(&r->req->pool, &r->req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL, H2O_STRLIT("Bearer"));
    api_reply_error(r, CORE_ERR_UNAUTHORIZED, NULL, "Log in first (or again: the session ended).");
}

static void on_user_for(api_req_t *r, int err, const api_user_t *user, void *data)
{
    with_user_fn go = (with_user_fn)data;
    if (err != 0) {
        api_reply_error(r, err, NULL, NULL);
        return;
    }
    if (user == NULL) {
        reply_unauthorized(r);
        return;
    }
    go(r, user);
}

static void with_user(api_req_t *r, with_user_fn go)
{
    int err = api_user_resolve(r, on_user_for, (void *)go);
    if (err == CORE_ERR_UNAUTHORIZED)
        reply_unauthorized(r);
    else if (err != 0)
        api_reply_error(r, err, NULL, NULL);
}

/* ---- me, logout, sessions ---- */

static void me_go(api_req_t *r, const api_user_t *u)
{
    api_reply_json(r, 200, json_pack("{s:o}", "user", user_json(r, u->id, u->name, u->email, u->created_ms)));
}

void api_accounts_me(api_req_t *r)
{
    with_user(r, me_go);
}

static void on_ended(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    api_req_t *r = data;
    if (err != 0 || n < 1) {
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    if (v[0].type != STORE_INT || v[0].integer < 1) {
        api_reply_error(r, CORE_ERR_NOT_FOUND, NULL, "You have no session with that id.");
        return;
    }
    reply_ok(r);
}

static void logout_go(api_req_t *r, const api_user_t *u)
{
    if (store_session_end(r->env->store, r->req, u->id, "one", u->session, on_ended, r) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

void api_accounts_logout(api_req_t *r)
{
    with_user(r, logout_go);
}

struct st_list_t {
    api_req_t *r;
    api_user_t user;
};

static void on_session_list(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_list_t *l = data;
    api_req_t *r = l->r;
    if (err != 0 || n < 1 || v[0].type != STORE_ARR) {
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    const core_config_t *cfg = r->env->cfg;
    uint64_t now = core_now_ms(), idle = (uint64_t)cfg->accounts.session_idle_s * 1000,
             max = (uint64_t)cfg->accounts.session_max_s * 1000;
    json_t *list = json_array();
    for (size_t i = 0; i + 1 < v[0].num_items; i += 2) {
        h2o_iovec_t f = str_of(&v[0].items[i]), val = str_of(&v[0].items[i + 1]);
        const char *bar1 = memchr(val.base, '|', val.len);
        const char *bar2 = bar1 != NULL ? memchr(bar1 + 1, '|', (size_t)(val.base + val.len - bar1 - 1)) : NULL;
        if (f.len != HASH_HEX || bar2 == NULL)
            continue;
        uint64_t created = store_parse_u64(val.base, (size_t)(bar1 - val.base));
        uint64_t seen = store_parse_u64(bar1 + 1, (size_t)(bar2 - bar1 - 1));
        if (now - created > max || now - seen > idle)
            continue; /* ended; session_create prunes it */
        uint64_t end = created + max < seen + idle ? created + max : seen + idle;
        h2o_iovec_t c = iso_time(&r->req->pool, created), s = iso_time(&r->req->pool, seen),
                    e = iso_time(&r->req->pool, end);
        json_t *item = json_pack("{s:s%,s:s%,s:s%,s:s%,s:s%,s:b}", "id", f.base, (size_t)SESSION_ID_CHARS, "created",
                                 c.base, c.len, "last_seen", s.base, s.len, "expires", e.base, e.len, "user_agent",
                                 bar2 + 1, (size_t)(val.base + val.len - bar2 - 1), "current",
                                 h2o_memis(f.base, f.len, l->user.session.base, l->user.session.len));
        if (item != NULL) /* a user agent that is not UTF-8 makes json_pack fail: leave that row out */
            json_array_append_new(list, item);
    }
    api_reply_json(r, 200, json_pack("{s:o}", "sessions", list));
}

static void sessions_go(api_req_t *r, const api_user_t *u)
{
    struct st_list_t *l = h2o_mem_alloc_pool(&r->req->pool, sizeof(*l));
    l->r = r;
    l->user = *u;
    if (store_session_list(r->env->store, r->req, u->id, on_session_list, l) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

void api_accounts_sessions(api_req_t *r)
{
    with_user(r, sessions_go);
}

static void session_delete_go(api_req_t *r, const api_user_t *u)
{
    h2o_iovec_t sid = r->path_params[0];
    if (store_session_end(r->env->store, r->req, u->id, "id", sid, on_ended, r) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

void api_accounts_session_delete(api_req_t *r)
{
    h2o_iovec_t sid = r->num_path_params > 0 ? r->path_params[0] : h2o_iovec_init(NULL, 0);
    bool ok = sid.len == SESSION_ID_CHARS;
    for (size_t i = 0; ok && i < sid.len; ++i)
        ok = (sid.base[i] >= '0' && sid.base[i] <= '9') || (sid.base[i] >= 'a' && sid.base[i] <= 'f');
    if (!ok) {
        api_reply_error(r, CORE_ERR_NOT_FOUND, NULL, "You have no session with that id.");
        return;
    }
    with_user(r, session_delete_go);
}

/* ---- password change and reset ---- */

struct st_pwset_t {
    api_req_t *r;
    bool reset;
    api_user_t user;         /* change: the logged-in user */
    h2o_iovec_t id, hash;    /* reset: from the token */
    h2o_iovec_t name, email; /* for the mail */
    h2o_iovec_t old_phc;
    const char *pw, *current;
    size_t pw_len, current_len;
};

static void on_password_mail(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_pwset_t *p = data;
    if (err != 0)
        core_log_warn("accounts: the password-changed mail could not be queued (Redis unavailable)");
    reply_ok(p->r);
}

static void on_password_set(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_pwset_t *p = data;
    api_req_t *r = p->r;
    if (err != 0 || n < 1) {
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    h2o_iovec_t res = str_of(&v[0]);
    if (h2o_memis(res.base, res.len, H2O_STRLIT("invalid")) || h2o_memis(res.base, res.len, H2O_STRLIT("missing"))) {
        api_reply_error(r, CORE_ERR_TOKEN_INVALID, p->reset ? "token" : NULL, NULL);
        return;
    }
    if (h2o_memis(res.base, res.len, H2O_STRLIT("changed"))) {
        api_reply_error(r, CORE_ERR_CONFLICT, NULL, "Your password was changed meanwhile; try again.");
        return;
    }
    core_log_info("accounts: password %s for %.*s", p->reset ? "reset" : "changed", (int)p->id.len, p->id.base);
    const core_config_t *cfg = r->env->cfg;
    char *msg = NULL;
    size_t len = 0;
    int rc = mail_template_password_changed(cfg->smtp.from, p->email.base, p->name.base,
                                            mail_link(r, "/account/lost-password", h2o_iovec_init(NULL, 0)), time(NULL),
                                            &msg, &len);
    h2o_iovec_t m = mail_into_pool(r, rc, msg, len);
    if (m.len == 0 ||
        store_outbox_add(r->env->store, r->req, envelope_from(r), p->email.base, m, on_password_mail, p) != 0)
        reply_ok(r);
}

static void on_pw_hashed(api_req_t *r, void *arg)
{
    struct st_pwjob_t *j = arg;
    struct st_pwset_t *p = j->state;
    if (busy_replied(r, j))
        return;
    if (j->result == CORE_ERR_UNAUTHORIZED) {
        api_reply_error(r, CORE_ERR_INVALID, "current", "Your current password is not right.");
        return;
    }
    if (j->result == CORE_ERR_INVALID) {
        api_reply_error(r, CORE_ERR_INVALID, "password", j->why);
        return;
    }
    if (j->result != 0) {
        api_reply_error(r, CORE_ERR_INTERNAL, NULL, NULL);
        return;
    }
    h2o_iovec_t phc = h2o_strdup(&r->req->pool, j->phc, strlen(j->phc));
    if (store_user_password(r->env->store, r->req, p->id, p->reset ? "reset" : "change",
                            p->reset ? p->hash : p->user.session, phc, p->old_phc, core_now_ms(), on_password_set,
                            p) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

static void on_pw_user(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_pwset_t *p = data;
    api_req_t *r = p->r;
    if (err != 0 || n < 1 || v[0].type != STORE_ARR || v[0].num_items < 5) {
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    const store_value_t *u = v[0].items;
    if (u[0].type != STORE_STR || u[2].type != STORE_STR || u[2].str.len >= CORE_ARGON2_PHC_MAX) {
        api_reply_error(r, CORE_ERR_TOKEN_INVALID, p->reset ? "token" : NULL, NULL);
        return;
    }
    p->name = u[0].str;
    p->email = str_of(&u[1]);
    p->old_phc = u[2].str;
    struct st_pwjob_t *j = pwjob_new(r, p->reset ? JOB_HASH : JOB_CHANGE, p->pw, p->pw_len, p);
    j->username = dup_secret(p->name.base, p->name.len);
    j->email = dup_secret(p->email.base, p->email.len);
    if (!p->reset) {
        j->current = dup_secret(p->current, p->current_len);
        j->current_len = p->current_len;
        memcpy(j->phc, p->old_phc.base, p->old_phc.len);
        j->phc[p->old_phc.len] = '\0';
    }
    submit_or_reply(r, j, on_pw_hashed);
}

static void change_go(api_req_t *r, const api_user_t *u)
{
    struct st_pwset_t *p = h2o_mem_alloc_pool(&r->req->pool, sizeof(*p));
    memset(p, 0, sizeof(*p));
    p->r = r;
    p->user = *u;
    p->id = u->id;
    /* The body was checked before the session was resolved; read it again (borrowed from r->body). */
    core_json_err_t jerr;
    core_json_get_string(r->body, "current", true, 0, &p->current, &p->current_len, &jerr);
    core_json_get_string(r->body, "password", true, 0, &p->pw, &p->pw_len, &jerr);
    if (store_user_read(r->env->store, r->req, u->id, h2o_iovec_init(H2O_STRLIT("-")), on_pw_user, p) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

void api_accounts_password_change(api_req_t *r)
{
    static const char *const keys[] = {"current", "password", NULL};
    const char *v[2];
    size_t l[2];
    if (strings_or_reply(r, keys, v, l) != 0)
        return;
    with_user(r, change_go);
}

void api_accounts_password_reset(api_req_t *r)
{
    static const char *const keys[] = {"token", "password", NULL};
    const char *v[2];
    size_t l[2];
    if (strings_or_reply(r, keys, v, l) != 0)
        return;
    struct st_pwset_t *p = h2o_mem_alloc_pool(&r->req->pool, sizeof(*p));
    memset(p, 0, sizeof(*p));
    p->r = r;
    p->reset = true;
    p->pw = v[1];
    p->pw_len = l[1];
    if (!token_parse(&r->req->pool, v[0], l[0], &p->id, &p->hash)) {
        api_reply_error(r, CORE_ERR_TOKEN_INVALID, "token", NULL);
        return;
    }
    if (store_user_read(r->env->store, r->req, p->id, h2o_iovec_init(H2O_STRLIT("-")), on_pw_user, p) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

/* ---- privacy: export everything of an account, delete an account ---- */

/* One stored comment (JSON) as its author may see it (api_comment_for_author); ENTRY is "site:url-hash:id". */
static json_t *own_comment_json(h2o_iovec_t entry, h2o_iovec_t json, h2o_iovec_t url)
{
    json_t *c = json_loadb(json.base, json.len, 0, NULL);
    if (c == NULL)
        return NULL;
    const char *colon = memchr(entry.base, ':', entry.len);
    json_t *out = api_comment_for_author(
        h2o_iovec_init(entry.base, colon != NULL ? (size_t)(colon - entry.base) : entry.len), url, c);
    json_decref(c);
    return out;
}

struct st_export_t {
    api_req_t *r;
    api_user_t user;
};

static void on_export_comments(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_export_t *x = data;
    api_req_t *r = x->r;
    if (err != 0) {
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i + 2 < n; i += 3) {
        if (v[i + 1].type != STORE_STR)
            continue; /* the comment is gone */
        json_t *c = own_comment_json(str_of(&v[i]), v[i + 1].str, str_of(&v[i + 2]));
        if (c != NULL)
            json_array_append_new(list, c);
    }
    h2o_iovec_t now = iso_time(&r->req->pool, core_now_ms());
    api_reply_json(r, 200,
                   json_pack("{s:s%,s:o,s:o}", "exported", now.base, now.len, "user",
                             user_json(r, x->user.id, x->user.name, x->user.email, x->user.created_ms), "comments",
                             list));
}

static void export_go(api_req_t *r, const api_user_t *u)
{
    struct st_export_t *x = h2o_mem_alloc_pool(&r->req->pool, sizeof(*x));
    x->r = r;
    x->user = *u;
    if (store_user_comments(r->env->store, r->req, u->id, on_export_comments, x) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

void api_accounts_export(api_req_t *r)
{
    with_user(r, export_go);
}

struct st_delete_t {
    api_req_t *r;
    api_user_t user;
    bool keep;      /* keep the comments as "Deleted user" rather than delete them */
    const char *pw; /* borrowed from r->body */
    size_t pw_len;
    size_t outstanding; /* comment updates not yet answered */
    size_t comments;    /* comments handled */
    bool failed;
};

static void on_account_deleted(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_delete_t *d = data;
    if (err != 0) {
        api_reply_error(d->r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    core_log_info("accounts: account %.*s deleted by its owner", (int)d->user.id.len, d->user.id.base);
    api_reply_json(d->r, 200,
                   json_pack("{s:b,s:I,s:s}", "deleted", 1, "comments", (json_int_t)d->comments, "kept",
                             d->keep ? "anonymised" : "deleted"));
}

static void delete_account(struct st_delete_t *d)
{
    api_req_t *r = d->r;
    if (d->failed) {
        /* Some comments could not be handled: keep the account, so the owner can try again. */
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    h2o_iovec_t name_lc = lower_dup(&r->req->pool, d->user.name.base, d->user.name.len),
                email_lc = lower_dup(&r->req->pool, d->user.email.base, d->user.email.len);
    if (store_user_delete(r->env->store, r->req, d->user.id, name_lc, email_lc, on_account_deleted, d) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

static void on_comment_handled(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_delete_t *d = data;
    if (err != 0)
        d->failed = true;
    if (--d->outstanding == 0)
        delete_account(d);
}

static void on_delete_comments(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_delete_t *d = data;
    api_req_t *r = d->r;
    if (err != 0) {
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    d->outstanding = 1; /* held until every update is sent, so none can finish the job early */
    for (size_t i = 0; i + 2 < n; i += 3) {
        if (v[i + 1].type != STORE_STR)
            continue;
        h2o_iovec_t e = v[i].str;
        const char *c1 = memchr(e.base, ':', e.len);
        const char *c2 = c1 != NULL ? memchr(c1 + 1, ':', (size_t)(e.base + e.len - c1 - 1)) : NULL;
        if (c2 == NULL)
            continue;
        store_share_ref_t t = {h2o_iovec_init(e.base, (size_t)(c1 - e.base)),
                               h2o_iovec_init(c1 + 1, (size_t)(c2 - c1 - 1)), str_of(&v[i + 2])};
        uint64_t cid = store_parse_u64(c2 + 1, (size_t)(e.base + e.len - c2 - 1));
        store_share_ref_t *tp = h2o_mem_alloc_pool(&r->req->pool, sizeof(*tp));
        *tp = t;
        if (store_comment_update(r->env->store, r->req, tp, cid, d->keep ? STORE_UPDATE_ANONYMIZE : STORE_UPDATE_DELETE,
                                 h2o_iovec_init(NULL, 0), 0, h2o_iovec_init(NULL, 0), h2o_iovec_init(NULL, 0), NULL,
                                 on_comment_handled, d) == 0) {
            ++d->outstanding;
            ++d->comments;
        } else {
            d->failed = true;
        }
    }
    if (--d->outstanding == 0)
        delete_account(d);
}

static void on_delete_checked(api_req_t *r, void *arg)
{
    struct st_pwjob_t *j = arg;
    struct st_delete_t *d = j->state;
    if (busy_replied(r, j))
        return;
    if (j->result != 0) {
        api_reply_error(r, CORE_ERR_INVALID, "password", "Your password is not right.");
        return;
    }
    if (store_user_comments(r->env->store, r->req, d->user.id, on_delete_comments, d) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

static void on_delete_user(h2o_req_t *req, int err, const store_value_t *v, size_t n, void *data)
{
    struct st_delete_t *d = data;
    api_req_t *r = d->r;
    if (err != 0 || n < 1 || v[0].type != STORE_ARR || v[0].num_items < 5 || v[0].items[2].type != STORE_STR ||
        v[0].items[2].str.len >= CORE_ARGON2_PHC_MAX) {
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
        return;
    }
    /* Deleting an account asks for its password again: a session alone (a borrowed device) is not enough. */
    struct st_pwjob_t *j = pwjob_new(r, JOB_VERIFY, d->pw, d->pw_len, d);
    memcpy(j->phc, v[0].items[2].str.base, v[0].items[2].str.len);
    j->phc[v[0].items[2].str.len] = '\0';
    submit_or_reply(r, j, on_delete_checked);
}

static void delete_go(api_req_t *r, const api_user_t *u)
{
    struct st_delete_t *d = h2o_mem_alloc_pool(&r->req->pool, sizeof(*d));
    memset(d, 0, sizeof(*d));
    d->r = r;
    d->user = *u;
    const char *mode = NULL;
    size_t mode_len = 0;
    core_json_err_t jerr;
    core_json_get_string(r->body, "password", true, 0, &d->pw, &d->pw_len, &jerr);
    core_json_get_string(r->body, "comments", true, 0, &mode, &mode_len, &jerr);
    d->keep = h2o_memis(mode, mode_len, H2O_STRLIT("keep"));
    if (store_user_read(r->env->store, r->req, u->id, h2o_iovec_init(H2O_STRLIT("-")), on_delete_user, d) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, NULL);
}

void api_accounts_delete(api_req_t *r)
{
    static const char *const keys[] = {"password", "comments", NULL};
    const char *v[2];
    size_t l[2];
    if (strings_or_reply(r, keys, v, l) != 0)
        return;
    if (!h2o_memis(v[1], l[1], H2O_STRLIT("keep")) && !h2o_memis(v[1], l[1], H2O_STRLIT("delete"))) {
        api_reply_error(r, CORE_ERR_INVALID, "comments",
                        "Say what becomes of your comments: \"keep\" (shown as by a deleted user) or \"delete\".");
        return;
    }
    with_user(r, delete_go);
}
