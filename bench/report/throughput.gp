# Durable operations per second against client threads, beside the plain Proton sender of the
# same run. Input: DATA, columns clients, stepline ops/s, Proton sender msg/s.
set terminal pngcairo size 800,480 font "sans,10"
set output OUT
set title "Durable endpoint path: throughput against client threads"
set xlabel "client threads (each waits for its operation to return)"
set ylabel "operations or messages per second"
set logscale x 2
set key top left
set grid
set yrange [0:*]
plot DATA using 1:2 with linespoints lw 2 pt 7 title "stepline operation -> job Succeeded", \
     DATA using 1:3 with linespoints lw 2 pt 5 dt 2 title "plain Proton C++ sender (baseline)"
