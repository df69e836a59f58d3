/*
 * The MPI job of verify-tarball: each rank reports itself, then passes a message to the next rank around a ring and
 * prints what it received, so tarball-check.sh can check that every rank started and that they communicated.
 * Compiled in the check container with the tarball's own mpicc.
 */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    int rank, size, len, sum;
    char host[MPI_MAX_PROCESSOR_NAME], library[MPI_MAX_LIBRARY_VERSION_STRING], sent[64], received[64];
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Get_processor_name(host, &len);
    printf("pharos-mpi: rank %d of %d on %s\n", rank, size, host);
    if (rank == 0) {
        MPI_Get_library_version(library, &len);
        /* The first line only: the rest is the build's repository and date. */
        library[strcspn(library, "\n,")] = '\0';
        printf("pharos-mpi: library %s\n", library);
    }
    snprintf(sent, sizeof sent, "hello from rank %d of %d", rank, size);
    int next = (rank + 1) % size, previous = (rank + size - 1) % size;
    MPI_Status status;
    memset(received, 0, sizeof received);
    MPI_Sendrecv(sent, (int)strlen(sent) + 1, MPI_CHAR, next, 7, received, sizeof received, MPI_CHAR, previous, 7, MPI_COMM_WORLD, &status);
    printf("pharos-mpi: rank %d received \"%s\" from rank %d\n", rank, received, status.MPI_SOURCE);
    MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) printf("pharos-mpi: sum of ranks %d\n", sum);
    MPI_Finalize();
    return 0;
}
