# CPU per durable operation, split: the SQLite statements alone (floor), the broker's share, the
# host's own work beyond the floor and the host's threads; the goal for the host's whole CPU per
# operation beside.
# Input: DATA, rows "label value" in microseconds.
set terminal pngcairo size 960,480 font "sans,10"
set output OUT
set title "CPU per durable operation (microseconds)"
set style data histograms
set style fill solid 0.7 border -1
set boxwidth 0.6
set ylabel "us per operation"
set grid ytics
set yrange [0:*]
set xtics rotate by -20
plot DATA using 2:xtic(1) notitle lc rgb "#4a7ebb", \
     '' using 0:2:(sprintf("%.1f", $2)) with labels offset 0,0.8 notitle
