#!/usr/bin/perl
# The timing loop of bench/bench.ts: runs every command once per turn, in a
# rotating order, so that each command's runs sit milliseconds apart from the
# other commands' runs instead of seconds (hyperfine runs one command's runs
# back to back: on a shared machine a busy second then lands on one command).
#
#   pairs.pl COMMANDS OUT TURNS WARMUP
# COMMANDS: one command per line, words separated by tabs. OUT gets one line
# per timed run: "command index <TAB> turn <TAB> wall ns <TAB> CPU µs".
# Wall time is fork to wait, like hyperfine -N; CPU is the child's user +
# system time from times(2): clock ticks of 10 ms, so only a mean over many
# runs means anything.
# A command that fails ends the loop with exit 1: nothing failing is timed.
use strict;
use warnings;
use POSIX ();
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);

my ($list, $out, $turns, $warmup) = @ARGV;
die "usage: pairs.pl COMMANDS OUT TURNS WARMUP\n" unless defined $warmup;
open(my $in, '<', $list) or die "pairs.pl: $list: $!\n";
my @commands = map { chomp; [split /\t/] } <$in>;
close $in;
open(STDOUT, '>', '/dev/null') or die "pairs.pl: /dev/null: $!\n";
open(my $res, '>', $out) or die "pairs.pl: $out: $!\n";

sub run_once {
  my ($argv) = @_;
  my @before = times;
  my $t0 = clock_gettime(CLOCK_MONOTONIC);
  my $pid = fork();
  die "pairs.pl: fork: $!\n" unless defined $pid;
  if ($pid == 0) { no warnings "exec"; exec { $argv->[0] } @$argv; POSIX::_exit(127); }
  waitpid($pid, 0);
  my $t1 = clock_gettime(CLOCK_MONOTONIC);
  my $status = $?;
  my @after = times;
  if ($status != 0) { print STDERR "pairs.pl: '@$argv' failed (wait status $status)\n"; exit 1; }
  return (int(($t1 - $t0) * 1e9), int((($after[2] + $after[3]) - ($before[2] + $before[3])) * 1e6 + 0.5));
}

my $n = scalar @commands;
for my $w (1 .. $warmup) { run_once($_) for @commands; }
for my $turn (0 .. $turns - 1) {
  my @order = map { ($_ + $turn) % $n } 0 .. $n - 1;
  @order = reverse @order if $turn % 2;
  for my $i (@order) {
    my ($ns, $cpu) = run_once($commands[$i]);
    print $res "$i\t$turn\t$ns\t$cpu\n";
  }
}
close $res or die "pairs.pl: $out: $!\n";
