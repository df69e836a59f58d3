#!/usr/bin/bash
#DEP:htslib/1.16
#WHATIS:Tools for reading, writing, indexing and viewing SAM/BAM/CRAM alignments
#URL:https://www.htslib.org/
#SRC:debian-orig:samtools/samtools_1.16.1.orig.tar.gz sha256:70a7f358088929272d8c22d6063290ac8420f5351fba237a99fe17851a45d8be

#ENV:SAMTOOLS_ROOT=$app_root
#ENVNOTE:samtools install prefix

#SBATCH --cpus-per-task=2
#SBATCH --mem=2G
#SBATCH --time=30

install() {
    tar -xzf "$src_dir/samtools_1.16.1.orig.tar.gz" -C "$tmp_dir"
    cd "$tmp_dir/samtools-$version"
    autoreconf -i
    # Linked against the htslib overlay (mounted read-only at its prefix), with its lib/ as the RUNPATH, so the
    # binary finds libhts wherever the two overlays are mounted together, and fails clearly without it.
    htslib=/cnt/htslib/1.16
    ./configure --prefix="$target_dir" --with-htslib="$htslib" LDFLAGS="-Wl,-rpath,$htslib/lib"
    make -j"$NCPUS"
    make install
}
