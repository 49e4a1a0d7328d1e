#include "sync/cli/cli.h"

int main(int argc, char** argv) { return freshet::RunCli(argc, argv); }
