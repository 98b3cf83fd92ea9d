#ifndef CNCURSES_SHIM_H
#define CNCURSES_SHIM_H
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <errno.h>
#include <langinfo.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <locale.h>
#include <ncurses.h>

/* ncurses globals are shared mutable state to Swift: reach them through functions. */
static inline WINDOW *CNcurses_stdscr(void) { return stdscr; }
static inline int CNcurses_lines(void) { return LINES; }
static inline int CNcurses_cols(void) { return COLS; }

/* Function-like macros Swift cannot import. */
static inline int CNcurses_KEY_F(int n) { return KEY_F(n); }
static inline attr_t CNcurses_A_NORMAL(void) { return A_NORMAL; }
static inline attr_t CNcurses_A_BOLD(void) { return A_BOLD; }
static inline attr_t CNcurses_A_REVERSE(void) { return A_REVERSE; }
static inline attr_t CNcurses_A_UNDERLINE(void) { return A_UNDERLINE; }
static inline attr_t CNcurses_A_DIM(void) { return A_DIM; }
static inline attr_t CNcurses_COLOR_PAIR(int n) { return (attr_t)COLOR_PAIR(n); }
/* ncurses' ESCDELAY is a global too; set it through the screen-specific call. */
static inline int CNcurses_set_escdelay(SCREEN *sp, int ms) { return set_escdelay_sp(sp, ms); }
/* Draw a wide string at a position (mvwaddnwstr is a macro when NCURSES_NOMACROS is not set). */
static inline int CNcurses_mvwaddnwstr(WINDOW *w, int y, int x, const wchar_t *s, int n) {
    return wmove(w, y, x) == ERR ? ERR : waddnwstr(w, s, n);
}
/* Attributes through the function, not the wattrset/wattr_set macros. */
static inline int CNcurses_set_attr(WINDOW *w, attr_t a) { return wattrset(w, (int)a); }

/* ioctl is variadic. The window size of a terminal (0 when unknown); returns -1 when fd is not a terminal. */
static inline int CNcurses_window_size(int fd, int *rows, int *cols) {
    struct winsize ws;
    memset(&ws, 0, sizeof ws);
    if (ioctl(fd, TIOCGWINSZ, &ws) != 0) return -1;
    *rows = ws.ws_row;
    *cols = ws.ws_col;
    return 0;
}
/* Bytes waiting to be read on fd, or -1 when the descriptor cannot tell (FIONREAD). */
static inline int CNcurses_bytes_available(int fd) {
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 ? n : -1;
}

/* Names the calling thread (prctl is variadic; pthread_setname_np needs _GNU_SOURCE): `top -H`, /proc/.../comm. */
static inline int CNcurses_set_thread_name(const char *name) { return prctl(PR_SET_NAME, name, 0, 0, 0); }

/* SIGWINCH only reaches the process of its own controlling terminal (TTY=-). The handler writes one byte
   ('w') to a pipe so the thread waiting in poll() wakes up and resizes; -1 stops the writes. Only
   LeadCapture calls this, so the one copy of the static below is its. */
static int CNcurses_winch_fd = -1;
static void CNcurses_winch_handler(int sig) {
    (void)sig;
    int saved = errno;
    int fd = __atomic_load_n(&CNcurses_winch_fd, __ATOMIC_RELAXED);
    if (fd >= 0) { ssize_t ignored = write(fd, "w", 1); (void)ignored; }
    errno = saved;
}
static inline int CNcurses_watch_sigwinch(int fd) {
    __atomic_store_n(&CNcurses_winch_fd, fd, __ATOMIC_RELAXED);
    if (fd < 0) return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = CNcurses_winch_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGWINCH, &sa, NULL);
}
#endif
