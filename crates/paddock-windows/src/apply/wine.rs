//! Detects Wine, which runs the apply layer's plumbing but enforces neither restricted tokens nor
//! ACLs, so that status and error messages can say why the sandbox refuses to run there.
//!
//! Guarantees: true only when ntdll exports `wine_get_version`, which no Windows release has.

use paddock_win32::wide::to_wide;
use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};

/// True when this process runs under Wine.
pub fn running_under_wine() -> bool {
    let ntdll = to_wide("ntdll.dll").expect("literal has no NUL");
    // SAFETY: `ntdll` is NUL-terminated; ntdll is loaded in every process and the returned module
    // handle must not be freed.
    let module = unsafe { GetModuleHandleW(ntdll.as_ptr()) };
    if module.is_null() {
        return false;
    }
    // SAFETY: `module` is a loaded module and the name is a NUL-terminated ANSI literal.
    unsafe { GetProcAddress(module, c"wine_get_version".as_ptr().cast()) }.is_some()
}
