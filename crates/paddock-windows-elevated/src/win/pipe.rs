//! The broker's end of the broker <-> runner named pipe: one instance, local clients only, a
//! DACL that admits SYSTEM, the broker's user and the sandbox account only, and a check that
//! the connected client is the runner process the broker started (`GetNamedPipeClientProcessId`).
//!
//! Guarantees: `create` fails if the name already exists (`FILE_FLAG_FIRST_PIPE_INSTANCE`: no
//! squatting); `accept` returns only a client whose process id is the expected one, and gives up
//! after its timeout instead of hanging on a runner that died before connecting.

use crate::errors::ElevatedError;
use paddock_win32::Win32Error;
use paddock_win32::sddl::SecurityDescriptor;
use paddock_win32::wide::to_wide;
use paddock_windows::sid::Sid;
use std::fs::File;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::time::Duration;
use windows_sys::Win32::Foundation::{ERROR_PIPE_CONNECTED, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Security::SECURITY_ATTRIBUTES;
use windows_sys::Win32::Storage::FileSystem::{
    FILE_FLAG_FIRST_PIPE_INSTANCE, PIPE_ACCESS_DUPLEX, SECURITY_IDENTIFICATION,
};
use windows_sys::Win32::System::Pipes::{
    ConnectNamedPipe, CreateNamedPipeW, DisconnectNamedPipe, GetNamedPipeClientProcessId,
    PIPE_READMODE_BYTE, PIPE_REJECT_REMOTE_CLIENTS, PIPE_TYPE_BYTE, PIPE_WAIT,
};

/// A fresh, unguessable pipe name.
pub fn fresh_name() -> Result<String, ElevatedError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| ElevatedError::State(format!("getrandom: {e}")))?;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(r"\\.\pipe\paddock-{hex}"))
}

/// The DACL of the pipe: SYSTEM, the broker's user and the sandbox account, nobody else.
pub fn pipe_sddl(broker: &Sid, sandbox: &Sid) -> String {
    format!("D:P(A;;GA;;;SY)(A;;GA;;;{broker})(A;;GRGW;;;{sandbox})")
}

/// The listening end, before a client connects.
pub struct PipeServer {
    handle: OwnedHandle,
    name: String,
}

impl PipeServer {
    pub fn create(name: &str, sddl: &str) -> Result<PipeServer, ElevatedError> {
        let sd = SecurityDescriptor::from_sddl(sddl)?;
        let sa = SECURITY_ATTRIBUTES {
            nLength: size_of::<SECURITY_ATTRIBUTES>() as u32,
            lpSecurityDescriptor: sd.as_ptr(),
            bInheritHandle: 0,
        };
        let w = to_wide(name)?;
        // SAFETY: `w` is NUL-terminated; `sa` and its descriptor live across the call; the
        // returned handle is checked and then owned.
        let h = unsafe {
            CreateNamedPipeW(
                w.as_ptr(),
                PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE,
                PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                1,
                64 * 1024,
                64 * 1024,
                0,
                &sa,
            )
        };
        if h == INVALID_HANDLE_VALUE {
            return Err(Win32Error::last("CreateNamedPipeW").into());
        }
        // SAFETY: `h` is a valid handle nobody else owns.
        let handle = unsafe { OwnedHandle::from_raw_handle(h) };
        Ok(PipeServer {
            handle,
            name: name.to_string(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Waits at most `timeout` for a client, and accepts it only if its process id is
    /// `expected_pid`.
    pub fn accept(self, expected_pid: u32, timeout: Duration) -> Result<File, ElevatedError> {
        let PipeServer { handle, name } = self;
        let waiter = std::thread::spawn(move || {
            // SAFETY: blocking connect on our own pipe handle, no OVERLAPPED.
            let ok = unsafe { ConnectNamedPipe(handle.as_raw_handle(), std::ptr::null_mut()) };
            let err = (ok == 0).then(|| Win32Error::last("ConnectNamedPipe"));
            (handle, err)
        });
        let start = std::time::Instant::now();
        while !waiter.is_finished() && start.elapsed() < timeout {
            std::thread::sleep(Duration::from_millis(10));
        }
        let timed_out = !waiter.is_finished();
        // Unblock a waiter that is still listening by connecting ourselves; the pid check below
        // then refuses this connection.
        let _unblock = timed_out.then(|| connect(&name));
        let (handle, err) = waiter
            .join()
            .map_err(|_| ElevatedError::State("the pipe listener thread panicked".into()))?;
        if timed_out {
            return Err(ElevatedError::State(format!(
                "the sandbox runner did not connect to {name} within {timeout:?}; it may have \
                 failed to start as the sandbox account"
            )));
        }
        if let Some(e) = err.filter(|e| e.code != ERROR_PIPE_CONNECTED) {
            return Err(e.into());
        }
        let mut pid = 0u32;
        // SAFETY: valid connected pipe handle; `pid` is a valid out-pointer.
        if unsafe { GetNamedPipeClientProcessId(handle.as_raw_handle(), &mut pid) } == 0 {
            return Err(Win32Error::last("GetNamedPipeClientProcessId").into());
        }
        if pid != expected_pid {
            // SAFETY: valid pipe handle; ends the foreign client's connection.
            unsafe { DisconnectNamedPipe(handle.as_raw_handle()) };
            return Err(ElevatedError::State(format!(
                "process {pid} connected to the broker pipe instead of the runner \
                 {expected_pid}; refusing it"
            )));
        }
        Ok(File::from(handle))
    }
}

/// The runner's end: opens the pipe for read and write, allowing the server identification
/// only (it cannot impersonate the runner).
pub fn connect(name: &str) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .security_qos_flags(SECURITY_IDENTIFICATION)
        .open(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{
        ExitReport, Message, PROTOCOL_VERSION, check_hello, read_message, write_message,
    };
    use paddock_windows::apply::sid::current_user_sid;

    fn server() -> PipeServer {
        let me = current_user_sid().unwrap();
        let name = fresh_name().unwrap();
        PipeServer::create(&name, &pipe_sddl(&me, &me)).unwrap()
    }

    #[test]
    fn broker_and_runner_exchange_protocol_frames_over_a_real_pipe() {
        let srv = server();
        let name = srv.name().to_string();
        let nonce = [9u8; 16];
        let client = std::thread::spawn(move || {
            let mut c = connect(&name).unwrap();
            write_message(
                &mut c,
                &Message::Hello {
                    version: PROTOCOL_VERSION,
                    nonce,
                },
            )
            .unwrap();
            let got = read_message(&mut c).unwrap();
            write_message(&mut c, &Message::Exit(ExitReport { code: 3 })).unwrap();
            got
        });
        let mut s = srv
            .accept(std::process::id(), Duration::from_secs(10))
            .unwrap();
        check_hello(read_message(&mut s).unwrap(), &nonce).unwrap();
        write_message(&mut s, &Message::Kill).unwrap();
        assert_eq!(
            read_message(&mut s).unwrap(),
            Some(Message::Exit(ExitReport { code: 3 }))
        );
        assert_eq!(client.join().unwrap(), Some(Message::Kill));
    }

    #[test]
    fn a_client_from_another_process_id_is_refused() {
        let srv = server();
        let name = srv.name().to_string();
        let client = std::thread::spawn(move || connect(&name));
        let err = srv
            .accept(std::process::id() + 1, Duration::from_secs(10))
            .unwrap_err();
        assert!(err.to_string().contains("refusing"), "{err}");
        drop(client.join());
    }

    #[test]
    fn a_second_server_cannot_squat_an_existing_pipe_name() {
        let srv = server();
        let me = current_user_sid().unwrap();
        assert!(PipeServer::create(srv.name(), &pipe_sddl(&me, &me)).is_err());
    }

    #[test]
    fn accept_gives_up_when_no_runner_connects() {
        let srv = server();
        let err = srv
            .accept(std::process::id(), Duration::from_millis(200))
            .unwrap_err();
        assert!(err.to_string().contains("did not connect"), "{err}");
    }
}
