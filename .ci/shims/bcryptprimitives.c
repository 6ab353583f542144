/*
 * Stand-in for bcryptprimitives.dll on Wine 8, which lacks it. Rust's std for Windows imports
 * ProcessPrng from this DLL for its random seeds; this shim forwards to RtlGenRandom
 * (advapi32!SystemFunction036), a CSPRNG Wine does implement. For the test prefix only.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* ProcessPrng always succeeds on real Windows; RtlGenRandom takes a ULONG, so fill in chunks. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
