
$
fuzz-clusterfuzz-source0.1.0 