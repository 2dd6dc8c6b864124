//! The server's memory and threads, sampled from `/proc/PID/status` (Linux
//! only; elsewhere the bench simply reports no server figures).
//!
//! `VmHWM` is the kernel's own high-water mark of resident memory, so a
//! short peak between two samples is not missed; the thread count has no
//! such mark, so a sampler thread polls it every [`INTERVAL`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How often the sampler reads `/proc`.
const INTERVAL: Duration = Duration::from_millis(10);

/// One reading of `/proc/PID/status`, sizes in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Status {
    /// Resident memory now (`VmRSS`).
    pub rss_kib: u64,
    /// Peak resident memory since the process started (`VmHWM`).
    pub peak_rss_kib: u64,
    /// Threads now (`Threads`).
    pub threads: u64,
}

/// Parses the fields the bench needs out of a `/proc/PID/status` text.
pub fn parse_status(text: &str) -> Option<Status> {
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    Some(Status {
        rss_kib: field("VmRSS:")?,
        peak_rss_kib: field("VmHWM:")?,
        threads: field("Threads:")?,
    })
}

/// Reads the status of process `pid` now; `None` without `/proc` or once the
/// process is gone.
pub fn read_status(pid: u32) -> Option<Status> {
    let text = std::fs::read_to_string(status_path(pid)).ok()?;
    parse_status(&text)
}

fn status_path(pid: u32) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/status"))
}

/// What the sampler saw over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Peaks {
    /// The last reading.
    pub last: Status,
    /// The most threads seen in any reading.
    pub max_threads: u64,
}

/// Polls a process's status in the background until stopped.
pub struct Sampler {
    pid: u32,
    peaks: Arc<Mutex<Peaks>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Starts sampling `pid`, or returns `None` where `/proc` is unavailable.
    pub fn start(pid: u32) -> Option<Sampler> {
        let first = read_status(pid)?;
        let peaks = Arc::new(Mutex::new(Peaks {
            last: first,
            max_threads: first.threads,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let handle = thread::Builder::new()
            .name("bench-proc".into())
            .stack_size(64 * 1024)
            .spawn({
                let peaks = Arc::clone(&peaks);
                let stop = Arc::clone(&stop);
                move || {
                    while !stop.load(Ordering::Relaxed) {
                        let Some(now) = read_status(pid) else { break };
                        let mut p = peaks.lock().unwrap_or_else(|e| e.into_inner());
                        p.last = now;
                        p.max_threads = p.max_threads.max(now.threads);
                        drop(p);
                        thread::sleep(INTERVAL);
                    }
                }
            })
            .ok()?;
        Some(Sampler {
            pid,
            peaks,
            stop,
            handle: Some(handle),
        })
    }

    /// A fresh reading right now (falls back to the last sample).
    pub fn now(&self) -> Status {
        read_status(self.pid).unwrap_or_else(|| self.peaks().last)
    }

    /// What has been seen so far, including a fresh reading.
    pub fn peaks(&self) -> Peaks {
        let mut p = *self.peaks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(now) = read_status(self.pid) {
            p.last = now;
            p.max_threads = p.max_threads.max(now.threads);
        }
        p
    }

    /// Stops the sampler and returns the final figures.
    pub fn finish(mut self) -> Peaks {
        let peaks = self.peaks();
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        peaks
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_fields_of_a_status_file() {
        let text = "Name:\tstep6\nVmPeak:\t  99999 kB\nVmHWM:\t    8120 kB\nVmRSS:\t    7004 kB\nThreads:\t203\n";
        assert_eq!(
            parse_status(text),
            Some(Status {
                rss_kib: 7004,
                peak_rss_kib: 8120,
                threads: 203
            })
        );
        assert_eq!(parse_status("Name:\tx\n"), None);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn samples_this_very_process() {
        let sampler = Sampler::start(std::process::id()).expect("/proc exists on Linux");
        let peaks = sampler.finish();
        assert!(peaks.last.peak_rss_kib >= peaks.last.rss_kib);
        assert!(peaks.max_threads >= 1);
    }
}
