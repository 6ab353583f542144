//! The WFP network fence on the machine: opens the filtering engine, and installs or removes
//! Paddock's persistent sublayer and filters (`filters::FenceSpec`) in one WFP transaction.
//!
//! Guarantees: `install` first deletes whatever Paddock's keys hold (every key any version of
//! the fence used, `filters::ALL_FILTER_KEYS`), then adds the spec, inside one transaction: it commits completely or aborts leaving the previous fence in place;
//! `present` checks every key of a spec by `FwpmFilterGetByKey0`.

use super::ffi::{sys_err, to_guid};
use crate::errors::SystemError;
use crate::filters::{Action, Condition, FenceSpec, FilterSpec, Guid, Layer, keys_to_delete};
use paddock_win32::sddl::SecurityDescriptor;
use paddock_win32::wide::to_wide;
use windows_sys::Win32::Foundation::{FWP_E_FILTER_NOT_FOUND, FWP_E_SUBLAYER_NOT_FOUND, HANDLE};
use windows_sys::Win32::NetworkManagement::WindowsFilteringPlatform::{
    FWP_ACTION_BLOCK, FWP_ACTION_PERMIT, FWP_BYTE_BLOB, FWP_CONDITION_FLAG_IS_LOOPBACK,
    FWP_CONDITION_VALUE0, FWP_MATCH_EQUAL, FWP_MATCH_FLAGS_ALL_SET, FWP_MATCH_RANGE,
    FWP_RANGE_TYPE, FWP_RANGE0, FWP_SECURITY_DESCRIPTOR_TYPE, FWP_UINT8, FWP_UINT16, FWP_UINT32,
    FWP_VALUE0, FWPM_CONDITION_ALE_USER_ID, FWPM_CONDITION_FLAGS, FWPM_CONDITION_IP_REMOTE_PORT,
    FWPM_FILTER_CONDITION0, FWPM_FILTER_FLAG_PERSISTENT, FWPM_FILTER0,
    FWPM_LAYER_ALE_AUTH_CONNECT_V4, FWPM_LAYER_ALE_AUTH_CONNECT_V6, FWPM_LAYER_ALE_AUTH_LISTEN_V4,
    FWPM_LAYER_ALE_AUTH_LISTEN_V6, FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4,
    FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V6, FWPM_SUBLAYER_FLAG_PERSISTENT, FWPM_SUBLAYER0,
    FwpmEngineClose0, FwpmEngineOpen0, FwpmFilterAdd0, FwpmFilterDeleteByKey0, FwpmFilterGetByKey0,
    FwpmFreeMemory0, FwpmSubLayerAdd0, FwpmSubLayerDeleteByKey0, FwpmTransactionAbort0,
    FwpmTransactionBegin0, FwpmTransactionCommit0,
};
use windows_sys::Win32::System::Rpc::RPC_C_AUTHN_WINNT;

/// An open session with the base filtering engine, closed on drop.
pub struct Engine(HANDLE);

impl Engine {
    pub fn open() -> Result<Engine, SystemError> {
        let mut h: HANDLE = std::ptr::null_mut();
        // SAFETY: local engine, default session; `h` receives the engine handle we own.
        let rc = unsafe {
            FwpmEngineOpen0(
                std::ptr::null(),
                RPC_C_AUTHN_WINNT,
                std::ptr::null(),
                std::ptr::null(),
                &mut h,
            )
        };
        if rc != 0 {
            return Err(sys_err("FwpmEngineOpen0", rc));
        }
        Ok(Engine(h))
    }

    /// True when every filter of `spec` exists under its key.
    pub fn present(&self, spec: &FenceSpec) -> Result<bool, SystemError> {
        for f in &spec.filters {
            let key = to_guid(f.key);
            let mut out: *mut FWPM_FILTER0 = std::ptr::null_mut();
            // SAFETY: engine handle and key are valid; `out` receives memory WFP allocated,
            // freed right below.
            let rc = unsafe { FwpmFilterGetByKey0(self.0, &key, &mut out) };
            if rc == FWP_E_FILTER_NOT_FOUND as u32 {
                return Ok(false);
            }
            if rc != 0 {
                return Err(sys_err("FwpmFilterGetByKey0", rc));
            }
            let mut p = out.cast::<core::ffi::c_void>();
            // SAFETY: `p` was allocated by FwpmFilterGetByKey0 and is freed once.
            unsafe { FwpmFreeMemory0(&mut p) };
        }
        Ok(true)
    }

    /// Replaces Paddock's sublayer and filters with `spec`, atomically.
    pub fn install(&self, spec: &FenceSpec) -> Result<(), SystemError> {
        self.transaction(|e| {
            e.delete_all(spec)?;
            e.add_sublayer(spec)?;
            for f in &spec.filters {
                e.add_filter(spec.sublayer.key, f)?;
            }
            Ok(())
        })
    }

    /// Deletes Paddock's filters (the keys of `spec`) and sublayer, atomically.
    pub fn remove(&self, spec: &FenceSpec) -> Result<(), SystemError> {
        self.transaction(|e| e.delete_all(spec))
    }

    fn transaction(
        &self,
        body: impl FnOnce(&Engine) -> Result<(), SystemError>,
    ) -> Result<(), SystemError> {
        // SAFETY: valid engine handle; flags 0 is a read-write transaction.
        let rc = unsafe { FwpmTransactionBegin0(self.0, 0) };
        if rc != 0 {
            return Err(sys_err("FwpmTransactionBegin0", rc));
        }
        match body(self) {
            Ok(()) => {
                // SAFETY: commits the transaction begun above.
                let rc = unsafe { FwpmTransactionCommit0(self.0) };
                if rc != 0 {
                    return Err(sys_err("FwpmTransactionCommit0", rc));
                }
                Ok(())
            }
            Err(e) => {
                // SAFETY: aborts the transaction begun above; nothing of it stays.
                unsafe { FwpmTransactionAbort0(self.0) };
                Err(e)
            }
        }
    }

    fn delete_all(&self, spec: &FenceSpec) -> Result<(), SystemError> {
        for k in keys_to_delete(spec) {
            let key = to_guid(k);
            // SAFETY: valid engine handle and key.
            let rc = unsafe { FwpmFilterDeleteByKey0(self.0, &key) };
            if rc != 0 && rc != FWP_E_FILTER_NOT_FOUND as u32 {
                return Err(sys_err("FwpmFilterDeleteByKey0", rc));
            }
        }
        let key = to_guid(spec.sublayer.key);
        // SAFETY: valid engine handle and key.
        let rc = unsafe { FwpmSubLayerDeleteByKey0(self.0, &key) };
        if rc != 0 && rc != FWP_E_SUBLAYER_NOT_FOUND as u32 {
            return Err(sys_err("FwpmSubLayerDeleteByKey0", rc));
        }
        Ok(())
    }

    fn add_sublayer(&self, spec: &FenceSpec) -> Result<(), SystemError> {
        let mut name = to_wide(&spec.sublayer.name)?;
        let mut sub = FWPM_SUBLAYER0 {
            subLayerKey: to_guid(spec.sublayer.key),
            flags: FWPM_SUBLAYER_FLAG_PERSISTENT,
            weight: spec.sublayer.weight,
            ..Default::default()
        };
        sub.displayData.name = name.as_mut_ptr();
        // SAFETY: `sub` and the name it points to live across the call.
        let rc = unsafe { FwpmSubLayerAdd0(self.0, &sub, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(sys_err("FwpmSubLayerAdd0", rc));
        }
        Ok(())
    }

    fn add_filter(&self, sublayer: Guid, f: &FilterSpec) -> Result<(), SystemError> {
        // Storage the condition values point into; it outlives the FwpmFilterAdd0 call.
        let mut descriptors: Vec<SecurityDescriptor> = Vec::new();
        let mut blobs: Vec<FWP_BYTE_BLOB> = Vec::new();
        let mut ranges: Vec<FWP_RANGE0> = Vec::new();
        for c in &f.conditions {
            match c {
                Condition::UserId { sddl } => {
                    descriptors.push(SecurityDescriptor::from_sddl(sddl)?)
                }
                Condition::RemotePort { range } => {
                    let mut r = FWP_RANGE0::default();
                    r.valueLow.r#type = FWP_UINT16;
                    r.valueLow.Anonymous.uint16 = range.low;
                    r.valueHigh.r#type = FWP_UINT16;
                    r.valueHigh.Anonymous.uint16 = range.high;
                    ranges.push(r);
                }
                Condition::IsLoopback => {}
            }
        }
        for d in &descriptors {
            blobs.push(FWP_BYTE_BLOB {
                size: d.byte_len(),
                data: d.as_ptr().cast(),
            });
        }
        let (mut blob_i, mut range_i) = (0, 0);
        let mut conditions: Vec<FWPM_FILTER_CONDITION0> = Vec::new();
        for c in &f.conditions {
            let mut value = FWP_CONDITION_VALUE0::default();
            let (field, match_type) = match c {
                Condition::UserId { .. } => {
                    value.r#type = FWP_SECURITY_DESCRIPTOR_TYPE;
                    value.Anonymous.sd = &mut blobs[blob_i];
                    blob_i += 1;
                    (FWPM_CONDITION_ALE_USER_ID, FWP_MATCH_EQUAL)
                }
                Condition::IsLoopback => {
                    value.r#type = FWP_UINT32;
                    value.Anonymous.uint32 = FWP_CONDITION_FLAG_IS_LOOPBACK;
                    (FWPM_CONDITION_FLAGS, FWP_MATCH_FLAGS_ALL_SET)
                }
                Condition::RemotePort { .. } => {
                    value.r#type = FWP_RANGE_TYPE;
                    value.Anonymous.rangeValue = &mut ranges[range_i];
                    range_i += 1;
                    (FWPM_CONDITION_IP_REMOTE_PORT, FWP_MATCH_RANGE)
                }
            };
            conditions.push(FWPM_FILTER_CONDITION0 {
                fieldKey: field,
                matchType: match_type,
                conditionValue: value,
            });
        }
        let mut name = to_wide(&f.name)?;
        let mut filter = FWPM_FILTER0 {
            filterKey: to_guid(f.key),
            flags: FWPM_FILTER_FLAG_PERSISTENT,
            layerKey: match f.layer {
                Layer::AleAuthConnectV4 => FWPM_LAYER_ALE_AUTH_CONNECT_V4,
                Layer::AleAuthConnectV6 => FWPM_LAYER_ALE_AUTH_CONNECT_V6,
                Layer::AleAuthListenV4 => FWPM_LAYER_ALE_AUTH_LISTEN_V4,
                Layer::AleAuthListenV6 => FWPM_LAYER_ALE_AUTH_LISTEN_V6,
                Layer::AleAuthRecvAcceptV4 => FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4,
                Layer::AleAuthRecvAcceptV6 => FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V6,
            },
            subLayerKey: to_guid(sublayer),
            weight: FWP_VALUE0 {
                r#type: FWP_UINT8,
                ..Default::default()
            },
            numFilterConditions: conditions.len() as u32,
            filterCondition: conditions.as_mut_ptr(),
            ..Default::default()
        };
        filter.weight.Anonymous.uint8 = f.weight;
        filter.displayData.name = name.as_mut_ptr();
        filter.action.r#type = match f.action {
            Action::Block => FWP_ACTION_BLOCK,
            Action::Permit => FWP_ACTION_PERMIT,
        };
        let mut id = 0u64;
        // SAFETY: `filter` and everything it points to (name, conditions, blobs, descriptors,
        // ranges) are locals that live across the call.
        let rc = unsafe { FwpmFilterAdd0(self.0, &filter, std::ptr::null_mut(), &mut id) };
        if rc != 0 {
            return Err(sys_err("FwpmFilterAdd0", rc));
        }
        Ok(())
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // SAFETY: closes the engine handle this value owns, once.
        unsafe { FwpmEngineClose0(self.0) };
    }
}
