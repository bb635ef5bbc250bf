/*
 * main.c - feed-core's entry point; everything else is cli.c's.
 */
#include "cli.h"

int
main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
