# shellcheck shell=bash
# Medians and ranges of space-separated seconds, for the benchmark scripts:
#   echo "3.1 2.9 3.4" | median    -> 3.1
#   echo "3.1 2.9 3.4" | minmax    -> 2.9-3.4
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
minmax() { tr ' ' '\n' | grep -v '^$' | sort -g | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%.1f-%.1f", lo, hi}'; }
