/* xc-scale: a production-like population for issue 17's large dumps (bench/make-scale-dumps.py).
 *
 *   xc-scale files DIR N        N files under DIR (directories of 500, some symlinks and links)
 *   xc-scale tasks TOTAL        tasks until the kernel counts about TOTAL (kernel threads
 *                               included): processes and threads in varied states holding
 *                               pipes and sockets; returns once they are all in place
 *   xc-scale gt FILE            ground truth: one line per task (tid tgid ppid state comm) and
 *                               the totals, read from /proc
 *
 * Static, no libraries beyond libc and pthreads.  Everything waits for ever: the dump is
 * taken with the population asleep.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TCP_PORT 7017
#define UNIX_NAME "\0xc-scale-unix"

static void die(const char *what) { perror(what); exit(1); }
static void name(const char *n) { prctl(PR_SET_NAME, n); }
static void forever(void) { for (;;) pause(); }

static void close_from(int lo) {
    /* close_range(2) is 5.9+: both kernels here have it */
    if (syscall(SYS_close_range, lo, ~0U, 0) != 0) {
        for (int fd = lo; fd < 1024; fd++) close(fd);
    }
}

/* ------------------------------------------------------------------ files */

static int files(const char *dir, long n) {
    char path[256], other[256];
    mkdir(dir, 0755);
    long per = 500, made = 0;
    for (long d = 0; made < n; d++) {
        snprintf(path, sizeof path, "%s/d%05ld", dir, d);
        if (mkdir(path, 0755) && errno != EEXIST) die(path);
        for (long i = 0; i < per && made < n; i++, made++) {
            snprintf(path, sizeof path, "%s/d%05ld/f%04ld", dir, d, i);
            if (i % 50 == 7) {          /* a symlink */
                snprintf(other, sizeof other, "f%04ld", i - 1);
                if (symlink(other, path)) die(path);
                continue;
            }
            if (i % 50 == 8) {          /* a hard link: one inode, two dentries */
                snprintf(other, sizeof other, "%s/d%05ld/f%04ld", dir, d, i - 2);
                if (link(other, path)) die(path);
                continue;
            }
            int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
            if (fd < 0) die(path);
            if (i % 100 == 3) write(fd, "xc-scale file with a few bytes of data\n", 39);
            close(fd);
        }
    }
    printf("files: %ld under %s\n", made, dir);
    return 0;
}

/* ------------------------------------------------------------------ helpers */

static long tasks_now(void) {
    FILE *f = fopen("/proc/loadavg", "r");
    double a, b, c;
    long run = 0, total = 0;
    if (!f || fscanf(f, "%lf %lf %lf %ld/%ld", &a, &b, &c, &run, &total) != 5) die("loadavg");
    fclose(f);
    return total;
}

static void touch_pages(int n) {
    /* resident anonymous pages: per-thread RSS counters move (5.10's split RSS counting) */
    char *p = mmap(NULL, (size_t)n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    for (int i = 0; i < n; i++) p[i * 4096] = (char)i;
}

static void as_user(int i) {
    if (i % 7 == 3) {
        int uid = 1000 + i % 11;
        if (setgid(uid) || setuid(uid)) perror("setuid");
    }
}

/* ------------------------------------------------------------------ thread waits */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int thread_pipe[2] = {-1, -1};

static void *thread_main(void *arg) {
    int i = (int)(long)arg;
    touch_pages(1 + i % 13);
    switch (i % 6) {
    case 0: case 1:
        pthread_mutex_lock(&mu);
        for (;;) pthread_cond_wait(&cv, &mu);
    case 2: {
        struct timespec ts = {1000000 + i, 0};
        for (;;) nanosleep(&ts, NULL);
    }
    case 3: {
        char c;
        for (;;) read(thread_pipe[0], &c, 1);
    }
    case 4: {
        struct pollfd p = {thread_pipe[0], POLLIN, 0};
        for (;;) poll(&p, 1, -1);
    }
    default:
        forever();
    }
    return NULL;
}

static void thread_group(const char *comm, int threads, int index) {
    name(comm);
    as_user(index);
    if (pipe(thread_pipe)) die("pipe");
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 64 * 1024);
    for (int t = 0; t < threads; t++) {
        pthread_t th;
        int err = pthread_create(&th, &at, thread_main, (void *)(long)(t + index));
        if (err) { errno = err; perror("pthread_create"); break; }
    }
    touch_pages(8);
    forever();
}

/* ------------------------------------------------------------------ single processes */

static int connect_to(int family) {
    for (int tries = 0; tries < 200; tries++) {
        int s;
        if (family == AF_INET) {
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(TCP_PORT)};
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            s = socket(AF_INET, SOCK_STREAM, 0);
            if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0) return s;
        } else {
            struct sockaddr_un a = {.sun_family = AF_UNIX};
            memcpy(a.sun_path, UNIX_NAME, sizeof UNIX_NAME - 1);
            s = socket(AF_UNIX, SOCK_STREAM, 0);
            if (s >= 0 && connect(s, (struct sockaddr *)&a,
                                  offsetof(struct sockaddr_un, sun_path) + sizeof UNIX_NAME - 1) == 0)
                return s;
        }
        if (s >= 0) close(s);
        usleep(20000);
    }
    return -1;
}

/* a server that accepts and keeps every connection: it holds thousands of sockets */
static void server(int family) {
    name(family == AF_INET ? "xc-tcpserver" : "xc-unixserver");
    int l = socket(family, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(TCP_PORT)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(l, (struct sockaddr *)&a, sizeof a)) die("bind tcp");
    } else {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        memcpy(a.sun_path, UNIX_NAME, sizeof UNIX_NAME - 1);
        if (bind(l, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + sizeof UNIX_NAME - 1))
            die("bind unix");
    }
    if (listen(l, 4096)) die("listen");
    for (;;) {
        int c = accept(l, NULL, NULL);
        if (c < 0 && errno != EINTR) sleep(1);
    }
}

static void flock_holder(void) {
    name("xc-flockholder");
    int fd = open("/tmp/xc-scale.lock", O_CREAT | O_RDWR, 0644);
    flock(fd, LOCK_EX);
    forever();
}

/* one single-threaded process, its kind chosen by k */
static void single(int k, int i) {
    char c;
    switch (k) {
    case 0: {   /* plain sleepers, the most common task */
        name("xc-sleeper");
        as_user(i);
        struct timespec ts = {2000000 + i, 0};
        for (;;) nanosleep(&ts, NULL);
    }
    case 1: {   /* reads its own pipe for ever */
        int p[2], q[2];
        name("xc-piperead");
        if (pipe(q) || pipe(q) || pipe(p)) die("pipe");
        for (;;) read(p[0], &c, 1);
    }
    case 2: {   /* blocked writing to a full pipe */
        int p[2];
        static char buf[4096];
        name("xc-pipewrite");
        if (pipe(p)) die("pipe");
        fcntl(p[1], F_SETFL, O_NONBLOCK);
        while (write(p[1], buf, sizeof buf) > 0) ;
        fcntl(p[1], F_SETFL, 0);
        for (;;) write(p[1], buf, sizeof buf);
    }
    case 3: {   /* a unix stream connection, waiting in recv */
        name("xc-unixclient");
        int s = connect_to(AF_UNIX);
        connect_to(AF_UNIX);
        connect_to(AF_UNIX);
        for (;;) if (s < 0 || recv(s, &c, 1, 0) <= 0) forever();
    }
    case 4: {   /* a TCP connection over loopback, waiting in recv */
        name("xc-tcpclient");
        int s = connect_to(AF_INET);
        connect_to(AF_INET);
        connect_to(AF_INET);
        for (;;) if (s < 0 || recv(s, &c, 1, 0) <= 0) forever();
    }
    case 5: {   /* UDP, waiting in recvfrom */
        name("xc-udp");
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(s, (struct sockaddr *)&a, sizeof a);
        for (;;) recvfrom(s, &c, 1, 0, NULL, NULL);
    }
    case 6: {   /* epoll on an eventfd */
        name("xc-epoll");
        int e = epoll_create1(0), ev = eventfd(0, 0);
        struct epoll_event ee = {.events = EPOLLIN};
        epoll_ctl(e, EPOLL_CTL_ADD, ev, &ee);
        for (;;) epoll_wait(e, &ee, 1, -1);
    }
    case 7: {   /* select on a pipe */
        int p[2];
        name("xc-select");
        if (pipe(p)) die("pipe");
        for (;;) {
            fd_set r;
            FD_ZERO(&r);
            FD_SET(p[0], &r);
            select(p[0] + 1, &r, NULL, NULL, NULL);
        }
    }
    case 8: {   /* a parent in wait4 */
        name("xc-waiter");
        if (fork() == 0) { name("xc-waited"); forever(); }
        for (;;) wait(NULL);
    }
    case 9: {   /* zombies: children that exited, never reaped */
        name("xc-zombiemaker");
        for (int z = 0; z < 4; z++)
            if (fork() == 0) { name("xc-zombie"); _exit(z); }
        forever();
    }
    case 10: {  /* a vfork parent: uninterruptible (killable) until the child execs */
        name("xc-vforker");
        if (vfork() == 0) { forever(); }
        forever();
    }
    case 11: {  /* traced children: a tracer and its stopped tracees */
        name("xc-tracer");
        pid_t kids[3];
        for (int t = 0; t < 3; t++) {
            kids[t] = fork();
            if (kids[t] == 0) { name("xc-tracee"); forever(); }
        }
        usleep(100000);
        for (int t = 0; t < 3; t++) {
            if (ptrace(PTRACE_ATTACH, kids[t], 0, 0) == 0) waitpid(kids[t], NULL, __WALL);
        }
        forever();
    }
    case 12: {  /* a flock waiter */
        name("xc-flockwait");
        int fd = open("/tmp/xc-scale.lock", O_CREAT | O_RDWR, 0644);
        flock(fd, LOCK_EX);
        forever();
    }
    case 13: {  /* SysV IPC: a message queue receiver, a semaphore waiter, a shared segment */
        if (i % 2) {
            name("xc-msgrcv");
            int q = msgget(IPC_PRIVATE, 0600);
            struct { long t; char b[64]; } m;
            for (;;) msgrcv(q, &m, sizeof m.b, 0, 0);
        } else {
            name("xc-semwait");
            int id = shmget(IPC_PRIVATE, 65536, 0600);
            if (id >= 0) { char *p = shmat(id, NULL, 0); if (p != (void *)-1) p[0] = 1; }
            int s = semget(IPC_PRIVATE, 1, 0600);
            struct sembuf op = {0, -1, 0};
            for (;;) semop(s, &op, 1);
        }
    }
    case 14: {  /* sigsuspend, with some resident memory */
        name("xc-suspend");
        as_user(i);
        touch_pages(4 + i % 32);
        sigset_t none;
        sigemptyset(&none);
        for (;;) sigsuspend(&none);
    }
    default: {  /* stopped: SIGSTOP to itself */
        name("xc-stopped");
        raise(SIGSTOP);
        forever();
    }
    }
}

/* tasks each kind adds (itself and its children) */
static int kind_tasks(int k) {
    switch (k) {
    case 8: return 2;
    case 9: return 5;
    case 10: return 2;
    case 11: return 4;
    default: return 1;
    }
}

/* the mix of single processes, in parts per 100 */
static const int mix[16] = {
    /* sleeper */ 28, /* piperead */ 10, /* pipewrite */ 4, /* unix */ 14, /* tcp */ 8,
    /* udp */ 3, /* epoll */ 4, /* select */ 3, /* waiter */ 3, /* zombies */ 3,
    /* vfork */ 2, /* traced */ 2, /* flock */ 2, /* sysv */ 3, /* suspend */ 8, /* stopped */ 3,
};

static pid_t spawn(void (*fn)(int, int), int a, int b) {
    pid_t p = fork();
    if (p < 0) die("fork");
    if (p == 0) {
        close_from(3);
        fn(a, b);
        _exit(0);
    }
    return p;
}

static void group_fn(int threads, int index) {
    char comm[16];
    snprintf(comm, sizeof comm, threads > 50 ? "xc-big%02d" : "xc-workers", index % 100);
    thread_group(comm, threads, index);
}

static void server_fn(int family, int unused) { (void)unused; server(family); }
static void holder_fn(int a, int b) { (void)a; (void)b; flock_holder(); }

static int tasks(long total) {
    struct rlimit r = {1 << 16, 1 << 16};
    setrlimit(RLIMIT_NOFILE, &r);
    signal(SIGCHLD, SIG_DFL);
    long have = tasks_now();
    long budget = total - have - 8;     /* the init's own, the spinners and the crasher */
    if (budget < 100) budget = 100;
    printf("tasks: %ld now, %ld to add\n", have, budget);
    fflush(stdout);

    spawn(server_fn, AF_INET, 0);
    spawn(server_fn, AF_UNIX, 0);
    spawn(holder_fn, 0, 0);
    usleep(300000);
    long big = budget * 40 / 100, small = budget * 10 / 100;
    long singles = budget - big - small - 3;
    int groups = big / 1250 > 2 ? (int)(big / 1250) : 2;
    for (int g = 0; g < groups; g++)
        spawn(group_fn, (int)(big / groups) - 1, g);
    for (long made = 0; made < small; made += 8)
        spawn(group_fn, 7, (int)(made / 8));
    /* singles in the mix's proportions, interleaved so that pids mix the kinds */
    long made = 0;
    int n = 0;
    for (long rd = 0; made < singles; rd++) {
        for (int k = 0; k < 16 && made < singles; k++) {
            /* kind k gets mix[k] of every 100 slots of each round */
            if ((rd % 100) < mix[k]) {
                spawn(single, k, n++);
                made += kind_tasks(k);
            }
        }
    }
    /* wait until the count settles */
    long last = -1;
    for (int i = 0; i < 120; i++) {
        sleep(1);
        long now = tasks_now();
        if (now == last && now >= total - 20) break;
        last = now;
    }
    printf("tasks: %ld in the kernel (asked %ld)\n", tasks_now(), total);
    return 0;
}

/* ------------------------------------------------------------------ ground truth */

static int gt(const char *out) {
    FILE *o = fopen(out, "w");
    if (!o) die(out);
    DIR *d = opendir("/proc");
    struct dirent *e;
    long ntasks = 0, nproc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/%s/task", e->d_name);
        DIR *t = opendir(path);
        if (!t) continue;
        nproc++;
        struct dirent *te;
        while ((te = readdir(t))) {
            if (te->d_name[0] < '0' || te->d_name[0] > '9') continue;
            char sp[400], buf[1024];
            snprintf(sp, sizeof sp, "/proc/%s/task/%s/stat", e->d_name, te->d_name);
            int fd = open(sp, O_RDONLY);
            if (fd < 0) continue;
            ssize_t n = read(fd, buf, sizeof buf - 1);
            close(fd);
            if (n <= 0) continue;
            buf[n] = 0;
            char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
            if (!lp || !rp) continue;
            *rp = 0;
            char state;
            int ppid;
            long rss = 0;
            sscanf(rp + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
                   "%*d %*d %*u %*u %ld", &state, &ppid, &rss);
            fprintf(o, "%s %s %d %c %ld %s\n", te->d_name, e->d_name, ppid, state, rss, lp + 1);
            ntasks++;
        }
        closedir(t);
    }
    closedir(d);
    fprintf(o, "# tasks %ld processes %ld\n", ntasks, nproc);
    fclose(o);
    printf("gt: %ld tasks, %ld processes\n", ntasks, nproc);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 4 && !strcmp(argv[1], "files")) return files(argv[2], atol(argv[3]));
    if (argc >= 3 && !strcmp(argv[1], "tasks")) return tasks(atol(argv[2]));
    if (argc >= 3 && !strcmp(argv[1], "gt")) return gt(argv[2]);
    fprintf(stderr, "usage: xc-scale files DIR N | tasks TOTAL | gt FILE\n");
    return 2;
}
