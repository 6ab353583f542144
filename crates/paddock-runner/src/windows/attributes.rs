//! An owned `PROC_THREAD_ATTRIBUTE_LIST` holding the inherited-handle list and the job list.
//! The list points into the arrays it is given, so it owns copies of them for its lifetime.

use super::Win32Error;
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::Threading::{
    DeleteProcThreadAttributeList, InitializeProcThreadAttributeList, LPPROC_THREAD_ATTRIBUTE_LIST,
    PROC_THREAD_ATTRIBUTE_HANDLE_LIST, PROC_THREAD_ATTRIBUTE_JOB_LIST, UpdateProcThreadAttribute,
};

pub(crate) struct AttributeList {
    /// The opaque list, in `usize`s for alignment.
    buf: Vec<usize>,
    /// Values the list points at; boxed so they do not move.
    handles: Box<[HANDLE]>,
    jobs: Box<[HANDLE]>,
    /// False when the system refused the job list (before Windows 10, Wine): the caller then
    /// assigns the suspended process to the job itself.
    pub has_job: bool,
    initialized: bool,
}

impl AttributeList {
    /// A list inheriting exactly `handles` and putting the process in `job` at creation.
    pub(crate) fn new(handles: &[HANDLE], job: HANDLE) -> Result<Box<AttributeList>, Win32Error> {
        let mut size = 0usize;
        // SAFETY: a null list with a size out-parameter only queries the size needed.
        unsafe { InitializeProcThreadAttributeList(std::ptr::null_mut(), 2, 0, &mut size) };
        let words = size.div_ceil(size_of::<usize>());
        let mut list = Box::new(AttributeList {
            buf: vec![0; words],
            handles: handles.into(),
            jobs: Box::new([job]),
            has_job: false,
            initialized: false,
        });
        // SAFETY: `buf` holds at least `size` bytes, suitably aligned.
        if unsafe { InitializeProcThreadAttributeList(list.ptr(), 2, 0, &mut size) } == 0 {
            return Err(Win32Error::last("InitializeProcThreadAttributeList"));
        }
        list.initialized = true;
        let handles_ptr = list.handles.as_ptr();
        let handles_len = size_of_val(&*list.handles);
        // SAFETY: the value points into `list.handles`, which lives as long as the list.
        let ok = unsafe {
            UpdateProcThreadAttribute(
                list.ptr(),
                0,
                PROC_THREAD_ATTRIBUTE_HANDLE_LIST as usize,
                handles_ptr.cast(),
                handles_len,
                std::ptr::null_mut(),
                std::ptr::null(),
            )
        };
        if ok == 0 {
            return Err(Win32Error::last("UpdateProcThreadAttribute(HANDLE_LIST)"));
        }
        let jobs_ptr = list.jobs.as_ptr();
        // SAFETY: the value points into `list.jobs`, which lives as long as the list.
        list.has_job = unsafe {
            UpdateProcThreadAttribute(
                list.ptr(),
                0,
                PROC_THREAD_ATTRIBUTE_JOB_LIST as usize,
                jobs_ptr.cast(),
                size_of::<HANDLE>(),
                std::ptr::null_mut(),
                std::ptr::null(),
            )
        } != 0;
        Ok(list)
    }

    pub(crate) fn ptr(&mut self) -> LPPROC_THREAD_ATTRIBUTE_LIST {
        self.buf.as_mut_ptr().cast()
    }
}

impl Drop for AttributeList {
    fn drop(&mut self) {
        if self.initialized {
            // SAFETY: the list was initialised in `new` and is deleted once, here.
            unsafe { DeleteProcThreadAttributeList(self.ptr()) };
        }
    }
}
