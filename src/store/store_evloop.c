#include <stdlib.h>
#include <unistd.h>
#include "store/store_evloop.h"

struct st_adapter_t {
    redisAsyncContext *ac;
    h2o_socket_t *sock;
    int reading;
    int want_write;
    int write_armed;
};

static void on_readable(h2o_socket_t *sock, const char *err)
{
    struct st_adapter_t *a = sock->data;
    redisAsyncHandleRead(a->ac);
}

static void on_writable(h2o_socket_t *sock, const char *err)
{
    struct st_adapter_t *a = sock->data;
    /* h2o's write notification is one-shot and cannot be cancelled, so a delWrite that happened meanwhile is
     * honoured here by ignoring the event. */
    a->write_armed = 0;
    if (a->want_write) {
        a->want_write = 0;
        redisAsyncHandleWrite(a->ac);
    }
}

static void add_read(void *data)
{
    struct st_adapter_t *a = data;
    if (!a->reading) {
        a->reading = 1;
        h2o_socket_read_start(a->sock, on_readable);
    }
}

static void del_read(void *data)
{
    struct st_adapter_t *a = data;
    if (a->reading) {
        a->reading = 0;
        h2o_socket_read_stop(a->sock);
    }
}

static void add_write(void *data)
{
    struct st_adapter_t *a = data;
    a->want_write = 1;
    if (!a->write_armed) {
        a->write_armed = 1;
        h2o_socket_notify_write(a->sock, on_writable);
    }
}

static void del_write(void *data)
{
    struct st_adapter_t *a = data;
    a->want_write = 0;
}

static void cleanup(void *data)
{
    struct st_adapter_t *a = data;
    /* Closes the dup'ed descriptor only; hiredis closes its own. Closing one fd twice could hit a descriptor another
     * thread has just been given. */
    h2o_socket_close(a->sock);
    free(a);
}

int store_evloop_attach(redisAsyncContext *ac, h2o_evloop_t *loop)
{
    if (ac->ev.data != NULL)
        return -1;
    int fd = dup(ac->c.fd);
    if (fd < 0)
        return -1;
    struct st_adapter_t *a = calloc(1, sizeof(*a));
    if (a == NULL)
        abort();
    a->ac = ac;
    a->sock = h2o_evloop_socket_create(loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    a->sock->data = a;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    ac->ev.data = a;
    return 0;
}
