; output: hello.elf
; hello - the smallest multiboot guest: greets over COM1, prints the magic the loader
; passed in EAX and exits with status 0 (1 if the magic is wrong). It prints nothing
; loader-specific (info flags, cmdline path), so the output is the same everywhere.
; Expected output (verified on QEMU 7.2):
;   Hello from vmxlab
;   multiboot magic: 0x2BADB002
;   bye

%include "multiboot.inc"

    MULTIBOOT_ELF start

start:
    ; Multiboot spec 3.2: EAX = magic, EBX = info address, flat CS/DS/ES/SS, but
    ; ESP and GDTR are undefined, so load our own GDT and stack before anything else.
    cli
    mov [boot_magic], eax       ; DS is flat (spec 3.2), so memory writes are fine
    LOAD_GDT gdtr, 0x08, 0x10   ; setup.inc: LGDT, far jump to reload CS, DS..SS = 0x10
    mov esp, stack_top

    call uart_init
    mov esi, msg_hello
    call uart_puts

    mov esi, msg_magic
    call uart_puts
    mov eax, [boot_magic]
    call print_hex32
    call uart_newline

    mov ebx, 1                  ; exit status if the magic is wrong
    cmp dword [boot_magic], MB_BOOT_MAGIC
    jne .out

    mov esi, msg_bye
    call uart_puts
    xor ebx, ebx
.out:
    mov eax, ebx
    jmp guest_exit

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"

    align 8, db 0
gdt:
    GDT_FLAT_KERNEL                             ; 0x00 null, 0x08 ring-0 code, 0x10 ring-0 data
gdt_end:
gdtr:   PSEUDO_DESC gdt, gdt_end - gdt

msg_hello:   db "Hello from vmxlab", 10, 0
msg_magic:   db "multiboot magic: 0x", 0
msg_bye:     db "bye", 10, 0

    BSS_BEGIN
boot_magic: resd 1
    alignb 16
stack:      resb 4096
stack_top:
    BSS_END
