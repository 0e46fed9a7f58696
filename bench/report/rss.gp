# Resident memory of the host over a long run of durable operations, with the level after warm-up
# and the +-10 % band the goal allows. Input: DATA, columns operations taken, VmRSS KiB; WARM the
# RSS after warm-up in KiB, WARM_AT the operations by then, TITLE.
set terminal pngcairo size 800,480 font "sans,10"
set output OUT
set title TITLE
set xlabel "durable operations taken"
set ylabel "resident memory, MiB"
set format x "%.0s%c"
set key bottom right
set grid
set yrange [0:*]
set arrow from WARM_AT, graph 0 to WARM_AT, graph 1 nohead front dt 2 lc rgb "#555555"
set label "warm-up" at WARM_AT, graph 0.05 offset 0.5,0 front
plot DATA using 1:($2 / 1024) with lines lw 2 lc rgb "#4a7ebb" title "VmRSS", \
     WARM / 1024 * 1.1 with lines dt 2 lw 1 lc rgb "red" title "after warm-up +-10 % (goal)", \
     WARM / 1024 * 0.9 with lines dt 2 lw 1 lc rgb "red" notitle
