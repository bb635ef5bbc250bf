/*
 * cli.h - the command line: options, commands, exit codes.
 */
#ifndef FEED_CLI_H
#define FEED_CLI_H

struct cli_options {
    const char *config;  /* -c FILE, or NULL for the default */
    int foreground;      /* -f */
    int help;            /* -h, --help */
    int version;         /* --version */
    const char *command; /* the one command word */
    char **args;         /* the words after it (borrowed from argv) */
    int nargs;           /* keygen: 1 or 2; every other command: 0 */
};

/*
 * Parses argv into o. Returns 0, or -1 for an unknown command or option, a
 * missing or extra argument (usage, exit 2). --help and --version need no
 * command. Only keygen takes arguments: NAME and an optional DIR.
 */
int cli_parse(int argc, char **argv, struct cli_options *o);

/* Runs feed-core; returns the process's exit code. */
int cli_main(int argc, char **argv);

#endif
