#ifndef CNCURSES_SHIM_H
#define CNCURSES_SHIM_H
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <ncurses.h>

/* ncurses globals are shared mutable state to Swift: reach them through functions. */
static inline WINDOW *CNcurses_stdscr(void) { return stdscr; }
static inline int CNcurses_lines(void) { return LINES; }
static inline int CNcurses_cols(void) { return COLS; }
#endif
