/*
 * main.c - the docpipe command line: parses the subcommand and hands over
 * to one function per subcommand.  The only place that exits.
 */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    puts("docpipe");
    return 0;
}
