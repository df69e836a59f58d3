#!/usr/bin/bash
#WHATIS:C library for high-throughput sequencing data formats (SAM/BAM/CRAM, VCF/BCF), with bgzip, tabix and htsfile
#URL:https://www.htslib.org/
# Debian's orig tarball: upstream's release with the bundled htscodecs stripped (+ds); the base has libhtscodecs-dev.
#SRC:debian-orig:htslib/htslib_1.16+ds.orig.tar.bz2 sha256:2d10941e47cf0c05d1496e73e2beaef39e7584eb326367476b12cad04e7794be

#ENV:HTSLIB_ROOT=$app_root
#ENVNOTE:htslib install prefix (headers in include/, libhts in lib/)

#SBATCH --cpus-per-task=2
#SBATCH --mem=2G
#SBATCH --time=30

install() {
    tar -xjf "$src_dir/htslib_1.16+ds.orig.tar.bz2" -C "$tmp_dir"
    cd "$tmp_dir/htslib-$version"
    # The orig tarball carries configure.ac only.
    autoreconf -i
    # No cloud back-ends: nothing here may reach the network when the overlay is used on a compute node.
    ./configure --prefix="$target_dir" --with-external-htscodecs --disable-gcs --disable-s3 --disable-plugins
    make -j"$NCPUS"
    make install
}
