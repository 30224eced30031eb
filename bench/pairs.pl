#!/usr/bin/perl
# The timing loop of bench/bench.ts: runs every command once per turn, in a
# rotating order, so that each command's runs sit milliseconds apart from the
# other commands' runs instead of seconds (hyperfine runs one command's runs
# back to back: on a shared machine a busy second then lands on one command).
#
#   pairs.pl COMMANDS OUT TURNS WARMUP
# COMMANDS: one command per line, words separated by tabs. OUT gets one line
# per timed run: "command index <TAB> turn <TAB> wall ns <TAB> CPU µs <TAB>
# peak RSS KiB". Wall time is fork to wait, like hyperfine -N; CPU (user +
# system) and peak RSS are the child's own, from wait4(2)'s rusage, in µs
# and KiB (perl has no wait4 of its own: syscall(2) with the Linux number).
# A command that fails ends the loop with exit 1: nothing failing is timed.
use strict;
use warnings;
use POSIX ();
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);
use Config;

my $WAIT4 = $Config{archname} =~ /^x86_64/ ? 61 : $Config{archname} =~ /^aarch64/ ? 260
  : die "pairs.pl: wait4's number on $Config{archname} is unknown\n";

my ($list, $out, $turns, $warmup) = @ARGV;
die "usage: pairs.pl COMMANDS OUT TURNS WARMUP\n" unless defined $warmup;
open(my $in, '<', $list) or die "pairs.pl: $list: $!\n";
my @commands = map { chomp; [split /\t/] } <$in>;
close $in;
open(STDOUT, '>', '/dev/null') or die "pairs.pl: /dev/null: $!\n";
open(my $res, '>', $out) or die "pairs.pl: $out: $!\n";

sub run_once {
  my ($argv) = @_;
  my $status = "\0" x 8;
  my $rusage = "\0" x 256; # struct rusage: two timevals, then ru_maxrss
  my $t0 = clock_gettime(CLOCK_MONOTONIC);
  my $pid = fork();
  die "pairs.pl: fork: $!\n" unless defined $pid;
  if ($pid == 0) { no warnings "exec"; exec { $argv->[0] } @$argv; POSIX::_exit(127); }
  my $got = syscall($WAIT4, $pid + 0, $status, 0, $rusage);
  my $t1 = clock_gettime(CLOCK_MONOTONIC);
  die "pairs.pl: wait4: $!\n" if $got != $pid;
  my $wstatus = unpack("i", $status);
  if ($wstatus != 0) { print STDERR "pairs.pl: '@$argv' failed (wait status $wstatus)\n"; exit 1; }
  my ($us, $uus, $ss, $sus, $maxrss) = unpack("q5", $rusage);
  return (int(($t1 - $t0) * 1e9), ($us + $ss) * 1000000 + $uus + $sus, $maxrss);
}

my $n = scalar @commands;
for my $w (1 .. $warmup) { run_once($_) for @commands; }
for my $turn (0 .. $turns - 1) {
  my @order = map { ($_ + $turn) % $n } 0 .. $n - 1;
  @order = reverse @order if $turn % 2;
  for my $i (@order) {
    my ($ns, $cpu, $rss) = run_once($commands[$i]);
    print $res "$i\t$turn\t$ns\t$cpu\t$rss\n";
  }
}
close $res or die "pairs.pl: $out: $!\n";
