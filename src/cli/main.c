#include <stdio.h>
int main(void) { puts("tokvec"); return 0; }
