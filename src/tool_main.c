/* parleyd-tool: `parleyd import` and `parleyd export` (src/tool). A binary of its own so that the server does not
 * load libxml2 and, with it, ICU and libstdc++ (2.3 MB of resident memory in every parleyd for a tool run once);
 * parleyd execs it for those two words (main.c), so the commands stay `parleyd import …` and `parleyd export …`. */
#include <stdio.h>
#include <string.h>
#include "tool/tool.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "import") == 0)
        return tool_import_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "export") == 0)
        return tool_export_main(argc - 1, argv + 1);
    fprintf(stderr, "usage: parleyd import|export ... (see parleyd --help)\n");
    return 2;
}
