/* Health: /healthz says the process serves (no Redis involved, so an orchestrator does not restart parleyd for a
 * Redis outage); /readyz says this worker reaches Redis (a PING round trip within redis.timeout_ms), else 503, so a
 * load balancer can route around it. */
#include "core/core_error.h"
#include "api/api.h"

void api_health_live(api_req_t *r)
{
    json_t *body = json_pack("{s:s}", "status", "ok");
    api_reply_json(r, 200, body);
}

static void on_ping(h2o_req_t *req, int err, void *data)
{
    api_req_t *r = data;
    if (err != 0) {
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, "Redis is unreachable.");
        return;
    }
    api_reply_json(r, 200, json_pack("{s:s,s:s}", "status", "ok", "redis", "ok"));
}

void api_health_ready(api_req_t *r)
{
    if (store_ping(r->env->store, r->req, on_ping, r) != 0)
        api_reply_error(r, CORE_ERR_UNAVAILABLE, NULL, "Redis is unreachable.");
}
