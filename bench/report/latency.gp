# The open loop's latency distribution: operation due -> broker acceptance, as a percentile
# curve. Input: DATA, columns percentile (0-100), latency ms; GOAL the p99 goal in ms.
set terminal pngcairo size 800,480 font "sans,10"
set output OUT
set title TITLE
set xlabel "percentile of operations"
set ylabel "latency, ms (log scale)"
set logscale y
set key top left
set grid
set xrange [0:100]
set arrow from 99, graph 0 to 99, graph 1 nohead dt 3 lc rgb "gray"
plot DATA using 1:2 with lines lw 2 title "operation due -> broker acceptance", \
     GOAL with lines dt 2 lw 1 lc rgb "red" title sprintf("goal: p99 <= %g ms", GOAL)
