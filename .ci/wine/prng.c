/*
 * bcryptprimitives.dll for Wine 8, which has none: Go 1.24 and newer call
 * ProcessPrng from it at start-up for the runtime's random numbers, and a
 * Windows Go binary without it dies before main. This one exports
 * ProcessPrng only, filled by RtlGenRandom (SystemFunction036 of
 * advapi32), which Wine implements. Built and used by .ci/windows only:
 * nothing of it ships.
 *
 * Built with: x86_64-w64-mingw32-gcc -O2 -shared -nostdlib -e DllMain
 *             -o bcryptprimitives.dll prng.c -ladvapi32 -lkernel32
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI DllMain(HINSTANCE dll, DWORD reason, LPVOID reserved)
{
	return TRUE;
}

/* ProcessPrng fills data with len random bytes; it never fails on Windows,
 * and here only if RtlGenRandom does. RtlGenRandom takes a ULONG length, so
 * larger requests are filled in pieces. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
