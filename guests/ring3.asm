; output: ring3.elf
; ring3 - privilege levels: a 32-bit TSS supplies the ring-0 stack, IRET drops to
; ring 3, ring 3 prints through INT 0x80 (a DPL-3 gate) and through SYSENTER/SYSEXIT,
; CLI and IN from ring 3 with IOPL=0 raise #GP(0), and ring 3 exits through a syscall.
; Syscalls: EAX = number. 1 write(ESI = NUL-terminated string), 2 exit(EBX = status),
; 3 print EBX in hex. SYSENTER callers put their ESP in ECX and the return EIP in EDX,
; which the kernel hands back to SYSEXIT unchanged.
; Expected output (verified on QEMU 7.2):
;   kernel: entering ring 3
;   ring3: hello via int 0x80
;   ring3: CS=0x0000001B SS=0x00000023
;   ring3: hello via sysenter
;   ring3: trying cli
;   #GP vector=13 error=0x00000000 cs=0x0000001B ss=0x00000023 (ring-0 stack from TSS.ESP0)
;   ring3: trying in
;   #GP vector=13 error=0x00000000 cs=0x0000001B ss=0x00000023 (ring-0 stack from TSS.ESP0)
;   ring3: exit(0)
;   kernel: exit status 0
; Exit status: the user's status plus the number of checks that failed.

%include "multiboot.inc"

    MULTIBOOT_ELF start

; GDT order is fixed by SYSENTER/SYSEXIT (SDM Vol. 2 SYSENTER, SYSEXIT): kernel CS =
; IA32_SYSENTER_CS, kernel SS = CS+8, user CS = CS+16 (RPL 3), user SS = CS+24 (RPL 3).
SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
SEL_UCODE   equ 0x18 | 3
SEL_UDATA   equ 0x20 | 3
SEL_TSS     equ 0x28
MSR_SYSENTER_CS  equ 0x174      ; SDM Vol. 4 Table 2-2 (IA32_SYSENTER_CS/ESP/EIP)
MSR_SYSENTER_ESP equ 0x175
MSR_SYSENTER_EIP equ 0x176
SYS_WRITE   equ 1
SYS_EXIT    equ 2
SYS_PUTHEX  equ 3
IDT_ENTRIES equ 0x81

start:
    cli
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA ; multiboot spec 3.2: GDTR and ESP are undefined
    mov esp, boot_stack_top
    cld

    call uart_init

    ; IDT: vectors 0-14 -> one ring-0 handler each (DPL 0: ring 3 cannot INT them);
    ; 0x80 -> the syscall gate with DPL 3 so that INT 0x80 from CPL 3 passes the
    ; gate privilege check (SDM Vol. 3A 6.12.1.1).
    xor ecx, ecx
.gate:
    mov eax, [stub_table + ecx*4]
    mov edi, idt
    mov bl, GATE_INT0
    call idt_set_gate
    inc ecx
    cmp ecx, 15
    jb .gate
    mov ecx, 0x80
    mov eax, syscall_int
    mov bl, GATE_INT3
    call idt_set_gate
    lidt [idtr]

    ; TSS: SS0:ESP0 is the stack the processor switches to on an interrupt from ring 3
    ; (SDM Vol. 3A 6.12.1 "Exception- or Interrupt-Handler Procedures").
    TSS_LOAD tss, kstack_top, SEL_KDATA, SEL_TSS

    ; SYSENTER target (SDM Vol. 3A 5.8.7 "Performing Fast Calls to System Procedures")
    xor edx, edx
    mov ecx, MSR_SYSENTER_CS
    mov eax, SEL_KCODE
    wrmsr
    mov ecx, MSR_SYSENTER_ESP
    mov eax, sysenter_stack_top
    wrmsr
    mov ecx, MSR_SYSENTER_EIP
    mov eax, sysenter_entry
    wrmsr

    mov esi, msg_enter
    call uart_puts

    ; IRET to an outer privilege level pops EIP, CS, EFLAGS, ESP, SS (SDM Vol. 2 IRET)
    push dword SEL_UDATA        ; SS
    push dword user_stack_top   ; ESP
    push dword 0x00000002       ; EFLAGS: IF=0, IOPL=0 (bit 1 always reads 1)
    push dword SEL_UCODE        ; CS
    push dword user_main        ; EIP
    iretd

; ======================= ring 3 =======================
user_main:
    ; IRET to ring 3 nulled DS/ES (their DPL 0 < CPL 3), so load the user selector.
    mov ax, SEL_UDATA
    mov ds, ax
    mov es, ax

    mov eax, SYS_WRITE
    mov esi, umsg_int80
    int 0x80

    mov eax, SYS_WRITE
    mov esi, umsg_cs
    int 0x80
    xor ebx, ebx
    mov bx, cs
    mov eax, SYS_PUTHEX
    int 0x80
    mov eax, SYS_WRITE
    mov esi, umsg_ss
    int 0x80
    xor ebx, ebx
    mov bx, ss
    mov eax, SYS_PUTHEX
    int 0x80
    mov eax, SYS_WRITE
    mov esi, umsg_nl
    int 0x80

    mov eax, SYS_WRITE
    mov esi, umsg_sysenter
    mov ecx, esp
    mov edx, .after_sysenter
    sysenter
.after_sysenter:

    ; Without paging the flat user segments reach all memory, so ring 3 can tell the
    ; #GP handler where to resume.
    mov eax, SYS_WRITE
    mov esi, umsg_cli
    int 0x80
    mov dword [user_recover], .after_cli
    mov dword [expect_eip], .cli_fault
.cli_fault:
    cli                         ; CPL 3 > IOPL 0: #GP(0) (SDM Vol. 2 CLI)
.after_cli:

    mov eax, SYS_WRITE
    mov esi, umsg_in
    int 0x80
    mov dword [user_recover], .after_in
    mov dword [expect_eip], .in_fault
    mov dx, 0x3F8 + 5
.in_fault:
    in al, dx                   ; CPL > IOPL and no I/O bitmap: #GP(0) (SDM Vol. 1 19.5.2)
.after_in:

    mov eax, SYS_WRITE
    mov esi, umsg_exit
    int 0x80
    mov eax, SYS_EXIT
    xor ebx, ebx
    int 0x80
.hang:
    jmp .hang                   ; exit does not return

; ======================= ring 0 =======================
; INT 0x80: the processor switched to SS0:ESP0 and pushed SS, ESP, EFLAGS, CS, EIP.
; DS and ES still hold the user selectors; they are flat, but load ours anyway.
syscall_int:
    push ds
    push es
    push eax
    mov ax, SEL_KDATA
    mov ds, ax
    mov es, ax
    pop eax
    call dispatch
    pop es
    pop ds
    iretd

; SYSENTER: CS=0x08, SS=0x10, ESP and EIP from the MSRs, IF cleared; nothing saved.
sysenter_entry:
    call dispatch
    sysexit                     ; CS=0x1B, SS=0x23, EIP=EDX, ESP=ECX

; dispatch: EAX = syscall number; preserves every register.
dispatch:
    pushad
    cmp eax, SYS_WRITE
    jne .not_write
    call uart_puts
    jmp .done
.not_write:
    cmp eax, SYS_PUTHEX
    jne .not_puthex
    mov eax, ebx
    call print_hex32
    jmp .done
.not_puthex:
    cmp eax, SYS_EXIT
    jne .done
    mov ax, SEL_KDATA
    mov ds, ax
    cmp dword [gp_count], 2     ; both CLI and IN must have faulted
    je .gp_ok
    inc dword [failures]
.gp_ok:
    mov esi, msg_exit
    call uart_puts
    mov eax, ebx
    add eax, [failures]
    call print_dec
    call uart_newline
    jmp guest_exit
.done:
    popad
    ret

; ---- exceptions ----
%macro STUB_NOERR 1
isr%1:
    push 0                      ; no error code for this vector (SDM Table 6-1)
    push %1
    jmp isr_common
%endmacro
%macro STUB_ERR 1
isr%1:
    push %1
    jmp isr_common
%endmacro
    STUB_NOERR 0
    STUB_NOERR 1
    STUB_NOERR 2
    STUB_NOERR 3
    STUB_NOERR 4
    STUB_NOERR 5
    STUB_NOERR 6
    STUB_NOERR 7
    STUB_ERR 8
    STUB_NOERR 9
    STUB_ERR 10
    STUB_ERR 11
    STUB_ERR 12
    STUB_ERR 13
    STUB_ERR 14

; Frame after PUSHAD and the two segment pushes: [esp+40] vector, +44 error code,
; +48 EIP, +52 CS, +56 EFLAGS, +60 ESP, +64 SS (the last two: interrupted ring 3).
isr_common:
    push ds
    push es
    pushad
    mov ax, SEL_KDATA
    mov ds, ax
    mov es, ax
    mov ebp, esp
    mov ebx, [ebp + 40]
    cmp ebx, 13
    jne .unexpected
    test byte [ebp + 52], 3     ; only a #GP from ring 3 is expected
    jz .unexpected
    inc dword [gp_count]
    mov esi, msg_gp
    call uart_puts
    mov eax, [ebp + 44]
    call print_hex32
    mov esi, msg_cs
    call uart_puts
    mov eax, [ebp + 52]
    and eax, 0xFFFF             ; selectors fill the low word of their 32-bit slot
    call print_hex32
    mov esi, msg_ss
    call uart_puts
    mov eax, [ebp + 64]
    and eax, 0xFFFF
    call print_hex32
    ; the frame must sit at the top of the TSS.ESP0 stack: 6 dwords pushed by the
    ; processor and the stub (SS, ESP, EFLAGS, CS, EIP, error code) plus our vector
    lea eax, [ebp + 40 + 4 + 24]
    cmp eax, kstack_top
    jne .bad_stack
    mov eax, [ebp + 48]
    cmp eax, [expect_eip]
    jne .bad_stack
    mov esi, msg_stack_ok
    call uart_puts
    jmp .resume
.bad_stack:
    mov esi, msg_stack_bad
    call uart_puts
    inc dword [failures]
.resume:
    mov eax, [user_recover]
    mov [ebp + 48], eax
    popad
    pop es
    pop ds
    add esp, 8
    iretd                       ; back to ring 3: pops EIP, CS, EFLAGS, ESP, SS
.unexpected:
    mov esi, msg_unexpected
    call uart_puts
    mov eax, ebx
    call print_dec
    mov esi, msg_error_sp
    call uart_puts
    mov eax, [ebp + 44]
    call print_hex32
    mov esi, msg_eip
    call uart_puts
    mov eax, [ebp + 48]
    call print_hex32
    call uart_newline
    mov al, 3
    jmp guest_exit

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"

    align 4, db 0
stub_table:
    dd isr0, isr1, isr2, isr3, isr4, isr5, isr6, isr7
    dd isr8, isr9, isr10, isr11, isr12, isr13, isr14

    align 8, db 0
gdt:
    GDT_FLAT_KERNEL                                         ; 0x00 null, 0x08 ring-0 code, 0x10 ring-0 data
    GDT_FLAT_USER                                           ; 0x18 ring-3 code, 0x20 ring-3 data
    GDT_TSS32 tss                                           ; 0x28 32-bit TSS
gdt_end:
gdtr:   PSEUDO_DESC gdt, gdt_end - gdt
idtr:   PSEUDO_DESC idt, IDT_ENTRIES*8

    align 16, db 0
tss:                            ; 32-bit TSS (SDM Vol. 3A 7.2.1): ESP0 at 4, SS0 at 8,
    times 104 db 0              ; I/O map base at 102; filled in at run time

msg_enter:      db "kernel: entering ring 3", 10, 0
msg_gp:         db "#GP vector=13 error=0x", 0
msg_cs:         db " cs=0x", 0
msg_ss:         db " ss=0x", 0
msg_stack_ok:   db " (ring-0 stack from TSS.ESP0)", 10, 0
msg_stack_bad:  db " (WRONG stack or EIP)", 10, 0
msg_unexpected: db "UNEXPECTED exception vector=", 0
msg_error_sp:   db " error=0x", 0
msg_eip:        db " eip=0x", 0
msg_exit:       db "kernel: exit status ", 0
umsg_int80:     db "ring3: hello via int 0x80", 10, 0
umsg_cs:        db "ring3: CS=0x", 0
umsg_ss:        db " SS=0x", 0
umsg_nl:        db 10, 0
umsg_sysenter:  db "ring3: hello via sysenter", 10, 0
umsg_cli:       db "ring3: trying cli", 10, 0
umsg_in:        db "ring3: trying in", 10, 0
umsg_exit:      db "ring3: exit(0)", 10, 0

    BSS_BEGIN
user_recover:   resd 1
expect_eip:     resd 1
gp_count:       resd 1
failures:       resd 1
    alignb 8
idt:            resq IDT_ENTRIES
    alignb 16
boot_stack:     resb 4096
boot_stack_top:
kstack:         resb 4096
kstack_top:
sysenter_stack: resb 4096
sysenter_stack_top:
user_stack:     resb 4096
user_stack_top:
    BSS_END
