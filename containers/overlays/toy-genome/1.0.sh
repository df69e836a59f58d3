#!/usr/bin/bash
#TYPE:data
#DEP:samtools/1.16.1
#WHATIS:A small generated genome (three sequences from a fixed seed) and its samtools faidx index

#ENV:GENOME_FASTA=$app_root/genome.fa
#ENVNOTE:genome FASTA; genome.fa.fai beside it

#SBATCH --cpus-per-task=1
#SBATCH --mem=1G
#SBATCH --time=10

install() {
    # The same bases on every machine: a Park-Miller generator in whole numbers below 2^53, which every awk (mawk,
    # gawk, busybox) computes exactly, where their rand() functions differ; 60 bases a line, as FASTA is written.
    awk -v seed=20240501 '
        function sequence(name, bases,    i) {
            print ">" name
            for (i = 1; i <= bases; i++) {
                seed = (seed * 16807) % 2147483647
                printf "%s", substr("ACGT", seed % 4 + 1, 1)
                if (i % 60 == 0 || i == bases) printf "\n"
            }
        }
        BEGIN { sequence("chr1", 1000); sequence("chr2", 600); sequence("chrM", 250) }
    ' > "$target_dir/genome.fa"
    # samtools comes from the #DEP overlay, on PATH with its htslib.
    samtools faidx "$target_dir/genome.fa"
}
