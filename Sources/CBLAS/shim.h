// Debian's libopenblas-dev installs cblas.h through the alternatives system (pthread variant).
#include <cblas.h>
// OpenBLAS's own thread control, not part of the CBLAS standard header on every build.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
// The kernel family OpenBLAS chose for this CPU (its DYNAMIC_ARCH detection).
char *openblas_get_corename(void);
