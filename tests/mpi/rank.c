/*
 * A real MPI program for memwatch's Open MPI test (tests/mpi.rs).
 *
 *   rank <MiB> <hold-ms>
 *
 * Every rank calls MPI_Init, allocates <MiB> MiB and writes to every page so it is
 * resident, waits for the others at MPI_Barrier, holds the memory <hold-ms> milliseconds,
 * meets them at a second barrier, frees it and calls MPI_Finalize. Rank 0 prints one line
 * so the test can tell the program ran.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void hold(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

int main(int argc, char **argv) {
    int rank = 0, size = 0;
    long mib, ms;
    size_t len, i;
    volatile unsigned char *p;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc != 3) {
        if (rank == 0) {
            fprintf(stderr, "usage: rank <MiB> <hold-ms>\n");
        }
        MPI_Abort(MPI_COMM_WORLD, 2);
        return 2;
    }
    mib = strtol(argv[1], NULL, 10);
    ms = strtol(argv[2], NULL, 10);
    len = (size_t)mib * 1024 * 1024;
    p = malloc(len ? len : 1);
    if (p == NULL) {
        fprintf(stderr, "rank %d: cannot allocate %ld MiB\n", rank, mib);
        MPI_Abort(MPI_COMM_WORLD, 1);
        return 1;
    }
    for (i = 0; i < len; i += 4096) {
        p[i] = (unsigned char)(i / 4096) | 1;
    }
    MPI_Barrier(MPI_COMM_WORLD);
    hold(ms);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        printf("rank: %d ranks touched %ld MiB each and held %ld ms\n", size, mib, ms);
        fflush(stdout);
    }
    free((void *)p);
    MPI_Finalize();
    return 0;
}
