/*
 * shunt-cni: the CNI plugin a container runtime execs. It starts no JVM: it relays the call (the
 * CNI_* environment and the network configuration on stdin) to the Shunt agent over the agent's
 * Unix socket, prints the agent's answer on stdout and exits 0 on success, 1 on error (as the
 * reference plugins do). docs/cni.md describes the protocol, the configuration and the error codes.
 *
 * The network configuration may carry two keys for the shim itself:
 *   "socket":         the agent's API socket (default /run/shunt/shunt.sock);
 *   "timeoutSeconds": how long to wait for the agent's answer once connected (default 30, 1-600).
 * Connecting gives up after 2 s. VERSION is answered here, without the agent: it needs no network.
 * When the agent cannot be reached or does not answer in time the call fails at once with CNI error
 * 11 ("try again later"); an answer that is not the agent's CNI JSON is Shunt's error 120.
 *
 * The request is POST /v1/cni with a JSON body {"env": {"CNI_COMMAND": ..., ...}, "config": "..."}
 * whose strings carry the raw bytes one character per byte (every byte outside printable ASCII is
 * written as \u00XX), so any environment value and any stdin, even malformed, reaches the agent
 * unchanged.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/shunt/shunt.sock"
#define LATEST_VERSION "1.1.0"
#define SUPPORTED_VERSIONS "[\"0.4.0\",\"1.0.0\",\"1.1.0\"]"
#define CONNECT_TIMEOUT_MS 2000
#define DEFAULT_TIMEOUT_S 30
#define MAX_TIMEOUT_S 600
/* Escaped, a config may grow sixfold: 128 KiB keeps the request under the agent's 1 MiB limit. */
#define MAX_CONFIG (128 * 1024)
#define MAX_RESPONSE (4 * 1024 * 1024)
#define MAX_DEPTH 64

enum {
    CNI_INVALID_ENVIRONMENT = 4,
    CNI_IO_FAILURE = 5,
    CNI_DECODING_FAILURE = 6,
    CNI_INVALID_CONFIG = 7,
    CNI_TRY_AGAIN_LATER = 11,
    SHUNT_UNEXPECTED_ANSWER = 120,
};

static const char *const RELAYED[] = {
    "CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH",
};
static const char *const COMMANDS[] = {"ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION"};

/* What the shim reads from the network configuration; the agent reads the rest. */
struct config {
    char version[32];
    char socket[sizeof(((struct sockaddr_un *) 0)->sun_path)];
    long timeout_s;
    int answer;   /* scanning the agent's answer, not a configuration: only "code" matters */
    int has_code; /* the answer has a top-level "code" number */
};

/* ---- output ---------------------------------------------------------------------------------- */

struct buffer {
    char *data;
    size_t len, cap;
};

static void put(struct buffer *b, const char *bytes, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (b->len + n + 1 > cap) {
            cap *= 2;
        }
        char *grown = realloc(b->data, cap);
        if (grown == NULL) {
            fputs("shunt-cni: out of memory\n", stderr);
            exit(1);
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void puts_b(struct buffer *b, const char *text) {
    put(b, text, strlen(text));
}

/* A JSON string holding the bytes one character per byte (see the header comment). */
static void put_json_string(struct buffer *b, const char *bytes, size_t n) {
    put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) bytes[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char) c};
            put(b, esc, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(b, esc, 6);
        } else {
            put(b, (const char *) &bytes[i], 1);
        }
    }
    put(b, "\"", 1);
}

static int write_all(int fd, const char *data, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        data += w;
        n -= (size_t) w;
    }
    return 0;
}

/* The cniVersion of error results: the configuration's if Shunt speaks it, else the latest. */
static const char *reply_version = LATEST_VERSION;

static int supported(const char *version) {
    return strcmp(version, "0.4.0") == 0 || strcmp(version, "1.0.0") == 0 || strcmp(version, "1.1.0") == 0;
}

/* Prints a CNI error result on stdout and exits 1. */
static void fail(int code, const char *msg, const char *details_format, ...) {
    char details[1024];
    va_list ap;
    va_start(ap, details_format);
    vsnprintf(details, sizeof details, details_format, ap);
    va_end(ap);
    struct buffer out = {0};
    puts_b(&out, "{\"cniVersion\":");
    put_json_string(&out, reply_version, strlen(reply_version));
    char number[32];
    snprintf(number, sizeof number, ",\"code\":%d,\"msg\":", code);
    puts_b(&out, number);
    put_json_string(&out, msg, strlen(msg));
    puts_b(&out, ",\"details\":");
    put_json_string(&out, details, strlen(details));
    puts_b(&out, "}\n");
    write_all(STDOUT_FILENO, out.data, out.len);
    exit(1);
}

/* ---- a strict JSON scanner: finds a few top-level keys, validates the whole document ----------- */

struct scanner {
    const char *p, *end;
};

static void skip_ws(struct scanner *s) {
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) {
        s->p++;
    }
}

static void put_utf8(char *out, size_t cap, size_t *n, unsigned long cp) {
    char enc[4];
    size_t k;
    if (cp < 0x80) {
        enc[0] = (char) cp;
        k = 1;
    } else if (cp < 0x800) {
        enc[0] = (char) (0xc0 | (cp >> 6));
        enc[1] = (char) (0x80 | (cp & 0x3f));
        k = 2;
    } else if (cp < 0x10000) {
        enc[0] = (char) (0xe0 | (cp >> 12));
        enc[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
        enc[2] = (char) (0x80 | (cp & 0x3f));
        k = 3;
    } else {
        enc[0] = (char) (0xf0 | (cp >> 18));
        enc[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
        enc[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
        enc[3] = (char) (0x80 | (cp & 0x3f));
        k = 4;
    }
    for (size_t i = 0; i < k; i++) {
        if (out != NULL && *n + 1 < cap) {
            out[*n] = enc[i];
        }
        (*n)++;
    }
}

static int hex4(const char *p, unsigned long *value) {
    *value = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) {
            return -1;
        }
        *value = *value * 16 + (unsigned long) d;
    }
    return 0;
}

/*
 * Reads a string at s->p (the opening quote). Decoded into out (NUL-terminated, up to cap - 1
 * bytes) when out is not NULL; *length gets the decoded length, which may exceed cap - 1.
 */
static int scan_string(struct scanner *s, char *out, size_t cap, size_t *length) {
    size_t n = 0;
    if (s->p >= s->end || *s->p != '"') {
        return -1;
    }
    s->p++;
    while (s->p < s->end) {
        unsigned char c = (unsigned char) *s->p++;
        if (c == '"') {
            if (out != NULL) {
                out[n < cap ? n : cap - 1] = '\0';
            }
            *length = n;
            return 0;
        }
        if (c < 0x20) {
            return -1;
        }
        if (c != '\\') {
            if (out != NULL && n + 1 < cap) {
                out[n] = (char) c;
            }
            n++;
            continue;
        }
        if (s->p >= s->end) {
            return -1;
        }
        char e = *s->p++;
        unsigned long cp;
        switch (e) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            if (s->end - s->p < 4 || hex4(s->p, &cp) != 0) {
                return -1;
            }
            s->p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff && s->end - s->p >= 6 && s->p[0] == '\\' && s->p[1] == 'u') {
                unsigned long low;
                if (hex4(s->p + 2, &low) == 0 && low >= 0xdc00 && low <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                    s->p += 6;
                }
            }
            break;
        default:
            return -1;
        }
        put_utf8(out, cap, &n, cp);
    }
    return -1;
}

static int digits(struct scanner *s) {
    const char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        s->p++;
    }
    return s->p > start ? 0 : -1;
}

/* A JSON number; *whole gets its value when it is a plain integer (else -1). */
static int scan_number(struct scanner *s, long *whole) {
    const char *start = s->p;
    int integer = 1;
    if (s->p < s->end && *s->p == '-') {
        s->p++;
    }
    if (s->p < s->end && *s->p == '0') {
        s->p++;
    } else if (digits(s) != 0) {
        return -1;
    }
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        integer = 0;
        if (digits(s) != 0) {
            return -1;
        }
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        integer = 0;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-')) {
            s->p++;
        }
        if (digits(s) != 0) {
            return -1;
        }
    }
    *whole = -1;
    if (integer && *start != '-' && s->p - start <= 9) {
        *whole = strtol(start, NULL, 10);
    }
    return 0;
}

static int scan_literal(struct scanner *s, const char *word) {
    size_t n = strlen(word);
    if ((size_t) (s->end - s->p) < n || memcmp(s->p, word, n) != 0) {
        return -1;
    }
    s->p += n;
    return 0;
}

static int scan_value(struct scanner *s, int depth);

static int scan_members(struct scanner *s, int depth, char close, struct config *top) {
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 0;
    }
    for (;;) {
        skip_ws(s);
        if (close == '}') {
            char key[32];
            size_t key_length;
            if (scan_string(s, key, sizeof key, &key_length) != 0) {
                return -1;
            }
            skip_ws(s);
            if (s->p >= s->end || *s->p++ != ':') {
                return -1;
            }
            skip_ws(s);
            int known = top != NULL && key_length < sizeof key && !top->answer;
            int answer = top != NULL && key_length < sizeof key && top->answer;
            if (known && strcmp(key, "cniVersion") == 0 && s->p < s->end && *s->p == '"') {
                size_t n;
                if (scan_string(s, top->version, sizeof top->version, &n) != 0) {
                    return -1;
                }
                if (n >= sizeof top->version) {
                    top->version[0] = '\0';
                }
                if (supported(top->version)) {
                    reply_version = top->version; /* errors found later in the scan speak this version */
                }
            } else if (known && strcmp(key, "socket") == 0) {
                size_t n;
                if (s->p >= s->end || *s->p != '"') {
                    fail(CNI_INVALID_CONFIG, "invalid network configuration", "\"socket\" must be a string (the agent's socket path)");
                }
                if (scan_string(s, top->socket, sizeof top->socket, &n) != 0) {
                    return -1;
                }
                if (n == 0 || n >= sizeof top->socket || strlen(top->socket) != n) {
                    fail(CNI_INVALID_CONFIG, "invalid network configuration",
                         "\"socket\" must be a path of 1 to %zu bytes without NUL", sizeof top->socket - 1);
                }
            } else if (known && strcmp(key, "timeoutSeconds") == 0) {
                long whole;
                if (scan_number(s, &whole) != 0 || whole < 1 || whole > MAX_TIMEOUT_S) {
                    fail(CNI_INVALID_CONFIG, "invalid network configuration",
                         "\"timeoutSeconds\" must be a whole number from 1 to %d", MAX_TIMEOUT_S);
                }
                top->timeout_s = whole;
            } else if (answer && strcmp(key, "code") == 0 && s->p < s->end && (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))) {
                long whole;
                if (scan_number(s, &whole) != 0) {
                    return -1;
                }
                top->has_code = 1;
            } else if (scan_value(s, depth + 1) != 0) {
                return -1;
            }
        } else if (scan_value(s, depth + 1) != 0) {
            return -1;
        }
        skip_ws(s);
        if (s->p >= s->end) {
            return -1;
        }
        char c = *s->p++;
        if (c == close) {
            return 0;
        }
        if (c != ',') {
            return -1;
        }
    }
}

static int scan_value(struct scanner *s, int depth) {
    if (depth > MAX_DEPTH) {
        return -1;
    }
    skip_ws(s);
    if (s->p >= s->end) {
        return -1;
    }
    size_t n;
    long whole;
    switch (*s->p) {
    case '{': return scan_members(s, depth, '}', NULL);
    case '[': return scan_members(s, depth, ']', NULL);
    case '"': return scan_string(s, NULL, 0, &n);
    case 't': return scan_literal(s, "true");
    case 'f': return scan_literal(s, "false");
    case 'n': return scan_literal(s, "null");
    default: return scan_number(s, &whole);
    }
}

/* Scans a whole document that must be one JSON object; returns 0 and fills *top, or -1. */
static int scan_object(const char *data, size_t n, struct config *top) {
    struct scanner s = {data, data + n};
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{') {
        return -1;
    }
    if (scan_members(&s, 1, '}', top) != 0) {
        return -1;
    }
    skip_ws(&s);
    return s.p == s.end ? 0 : -1;
}

/* ---- the call ------------------------------------------------------------------------------- */

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* Waits for events on fd until the deadline; 0 when ready, -1 on timeout. */
static int wait_for(int fd, short events, long deadline) {
    for (;;) {
        long left = deadline - now_ms();
        if (left <= 0) {
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, (int) left);
        if (r > 0) {
            return 0;
        }
        if (r < 0 && errno != EINTR) {
            return -1;
        }
    }
}

static int connect_agent(const char *path) {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    memcpy(addr.sun_path, path, strlen(path) + 1);
    long deadline = now_ms() + CONNECT_TIMEOUT_MS;
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            fail(CNI_IO_FAILURE, "cannot create a socket", "socket(AF_UNIX): %s", strerror(errno));
        }
        if (connect(fd, (struct sockaddr *) &addr, sizeof addr) == 0) {
            return fd;
        }
        int err = errno;
        close(fd);
        /* EAGAIN: the agent's accept backlog is full (it is alive but busy); retry until the deadline. */
        if ((err == EAGAIN || err == EINTR) && now_ms() < deadline) {
            struct timespec pause = {0, 20 * 1000 * 1000};
            nanosleep(&pause, NULL);
            continue;
        }
        if (err == EAGAIN) {
            fail(CNI_TRY_AGAIN_LATER, "the shunt agent is busy",
                 "connect(%s): no connection accepted within %d ms", path, CONNECT_TIMEOUT_MS);
        }
        fail(CNI_TRY_AGAIN_LATER, "the shunt agent is not running",
             "connect(%s): %s (start it with 'shunt agent', or set \"socket\" in the network configuration)",
             path, strerror(err));
    }
}

static void send_all(int fd, const char *data, size_t n, long deadline, const char *path, long timeout_s) {
    while (n > 0) {
        ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
        if (w > 0) {
            data += w;
            n -= (size_t) w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_for(fd, POLLOUT, deadline) != 0) {
                fail(CNI_TRY_AGAIN_LATER, "the shunt agent did not answer in time",
                     "sending to %s: no progress within %ld s (\"timeoutSeconds\")", path, timeout_s);
            }
        } else {
            fail(CNI_TRY_AGAIN_LATER, "the shunt agent went away", "sending to %s: %s", path, strerror(errno));
        }
    }
}

static void receive_all(int fd, struct buffer *in, long deadline, const char *path, long timeout_s) {
    char chunk[16384];
    for (;;) {
        ssize_t r = recv(fd, chunk, sizeof chunk, 0);
        if (r > 0) {
            if (in->len + (size_t) r > MAX_RESPONSE) {
                fail(SHUNT_UNEXPECTED_ANSWER, "unexpected answer from the shunt agent",
                     "%s: an answer over %d bytes", path, MAX_RESPONSE);
            }
            put(in, chunk, (size_t) r);
        } else if (r == 0) {
            return;
        } else if (errno == EAGAIN || errno == EINTR) {
            if (wait_for(fd, POLLIN, deadline) != 0) {
                fail(CNI_TRY_AGAIN_LATER, "the shunt agent did not answer in time",
                     "%s: no answer within %ld s (\"timeoutSeconds\" in the network configuration)", path, timeout_s);
            }
        } else {
            fail(CNI_TRY_AGAIN_LATER, "the shunt agent went away", "reading from %s: %s", path, strerror(errno));
        }
    }
}

static int known_command(const char *command) {
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) {
        if (strcmp(command, COMMANDS[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

int main(void) {
    const char *command = getenv("CNI_COMMAND");
    if (command == NULL || command[0] == '\0') {
        fputs("shunt-cni: a CNI plugin that relays to the Shunt agent; CNI versions 0.4.0, 1.0.0, 1.1.0 (docs/cni.md)\n", stderr);
        fail(CNI_INVALID_ENVIRONMENT, "invalid environment", "CNI_COMMAND is not set");
    }
    if (!known_command(command)) {
        fail(CNI_INVALID_ENVIRONMENT, "invalid environment",
             "CNI_COMMAND '%.64s' is none of ADD, DEL, CHECK, STATUS, GC, VERSION", command);
    }

    /* VERSION takes its input from stdin if there is one; a terminal is not read. */
    struct buffer config = {0};
    if (strcmp(command, "VERSION") != 0 || !isatty(STDIN_FILENO)) {
        char chunk[16384];
        for (;;) {
            ssize_t r = read(STDIN_FILENO, chunk, sizeof chunk);
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r < 0) {
                if (strcmp(command, "VERSION") == 0) {
                    break;
                }
                fail(CNI_IO_FAILURE, "cannot read the network configuration", "stdin: %s", strerror(errno));
            }
            if (r == 0) {
                break;
            }
            if (config.len + (size_t) r > MAX_CONFIG) {
                fail(CNI_INVALID_CONFIG, "invalid network configuration", "the configuration on stdin is over %d bytes", MAX_CONFIG);
            }
            put(&config, chunk, (size_t) r);
        }
    }

    struct config conf = {.socket = DEFAULT_SOCKET, .timeout_s = DEFAULT_TIMEOUT_S};
    int scanned = config.len > 0 ? scan_object(config.data, config.len, &conf) : -1;
    if (scanned == 0 && supported(conf.version)) {
        reply_version = conf.version;
    }

    if (strcmp(command, "VERSION") == 0) {
        /* The spec: cniVersion is the one given on input (if any), then the versions this plugin speaks. */
        const char *version = scanned == 0 && conf.version[0] != '\0' ? conf.version : LATEST_VERSION;
        struct buffer out = {0};
        puts_b(&out, "{\"cniVersion\":");
        put_json_string(&out, version, strlen(version));
        puts_b(&out, ",\"supportedVersions\":" SUPPORTED_VERSIONS "}\n");
        return write_all(STDOUT_FILENO, out.data, out.len) == 0 ? 0 : 1;
    }
    if (config.len == 0) {
        fail(CNI_DECODING_FAILURE, "cannot decode the network configuration", "stdin is empty");
    }
    if (scanned != 0) {
        fail(CNI_DECODING_FAILURE, "cannot decode the network configuration", "stdin is not one JSON object");
    }

    struct buffer request = {0};
    puts_b(&request, "{\"env\":{");
    int first = 1;
    for (size_t i = 0; i < sizeof RELAYED / sizeof RELAYED[0]; i++) {
        const char *value = getenv(RELAYED[i]);
        if (value == NULL) {
            continue;
        }
        if (!first) {
            puts_b(&request, ",");
        }
        first = 0;
        put_json_string(&request, RELAYED[i], strlen(RELAYED[i]));
        puts_b(&request, ":");
        put_json_string(&request, value, strlen(value));
    }
    puts_b(&request, "},\"config\":");
    put_json_string(&request, config.data, config.len);
    puts_b(&request, "}");

    char head[256];
    int head_length = snprintf(head, sizeof head,
                               "POST /v1/cni HTTP/1.1\r\nHost: shunt\r\nConnection: close\r\n"
                               "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", request.len);

    int fd = connect_agent(conf.socket);
    long deadline = now_ms() + conf.timeout_s * 1000L;
    send_all(fd, head, (size_t) head_length, deadline, conf.socket, conf.timeout_s);
    send_all(fd, request.data, request.len, deadline, conf.socket, conf.timeout_s);
    struct buffer answer = {0};
    receive_all(fd, &answer, deadline, conf.socket, conf.timeout_s);
    close(fd);

    int status = 0;
    char *body = answer.data == NULL ? NULL : strstr(answer.data, "\r\n\r\n");
    if (body == NULL || sscanf(answer.data, "HTTP/1.%*[01] %d", &status) != 1) {
        fail(SHUNT_UNEXPECTED_ANSWER, "unexpected answer from the shunt agent", "%s: not an HTTP answer (%zu bytes)",
             conf.socket, answer.len);
    }
    body += 4;
    size_t body_length = answer.len - (size_t) (body - answer.data);
    if (status == 200) {
        if (body_length > 0 && (write_all(STDOUT_FILENO, body, body_length) != 0 || write_all(STDOUT_FILENO, "\n", 1) != 0)) {
            return 1;
        }
        return 0;
    }
    /* An error: the agent's CNI error result as it is, anything else (an older agent without the CNI API?) as error 120. */
    struct config error = {.answer = 1};
    if (scan_object(body, body_length, &error) == 0 && error.has_code) {
        write_all(STDOUT_FILENO, body, body_length);
        write_all(STDOUT_FILENO, "\n", 1);
        return 1;
    }
    fail(SHUNT_UNEXPECTED_ANSWER, "unexpected answer from the shunt agent", "%s: HTTP %d: %.300s", conf.socket, status,
         body_length > 0 ? body : "(no body)");
    return 1;
}
