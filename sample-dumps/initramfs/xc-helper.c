/* Helper programs of the stock-kernel initramfs, one static binary chosen by its name:
 *   xc-threads N   a thread group of N+1 threads, all asleep
 *   xc-user UID    a task of another user, asleep
 *   xc-hog         allocates and touches memory until the OOM killer (or panic_on_oom) ends it
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *idle(void *arg) { (void)arg; for (;;) pause(); return NULL; }

int main(int argc, char **argv) {
    const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (!strcmp(name, "xc-threads")) {
        int n = argc > 1 ? atoi(argv[1]) : 4;
        pthread_t t;
        for (int i = 0; i < n; i++) pthread_create(&t, NULL, idle, NULL);
        idle(NULL);
    }
    if (!strcmp(name, "xc-user")) {
        int uid = argc > 1 ? atoi(argv[1]) : 1000;
        if (setgid(uid) || setuid(uid)) { perror("setuid"); return 1; }
        idle(NULL);
    }
    if (!strcmp(name, "xc-hog")) {
        for (;;) {
            char *p = malloc(1 << 20);
            if (!p) { sleep(1); continue; }
            memset(p, 0x5a, 1 << 20);
        }
    }
    fprintf(stderr, "xc-helper: unknown name %s\n", name);
    return 2;
}
