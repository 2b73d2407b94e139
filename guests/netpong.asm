; output: netpong.elf
; netpong - the other end of netping.elf: receives Ethernet frames on its virtio-net
; device (virtio 1.2 5.1, include/vnet.inc) and echoes every "PING" frame (EtherType
; 0x88B5) to its sender with the tag changed to "PONG", the destination set to the
; sender and the source to its own MAC, everything else unchanged. Other frames are
; ignored. It ends after echoing the frame whose sequence number is count - 1.
; Output with netping on the other end (pong MAC 52:54:00:12:34:57):
;   netpong: start
;   netpong: virtio-net at transport 7, IRQ 12
;   netpong: mac 52:54:00:12:34:57
;   netpong: first frame from 52:54:00:12:34:56
;   netpong: echoed 8 frames
;   netpong: failed checks: 0
; Exit status: 0 (the number of failed checks: none here).

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
ETHERTYPE   equ 0xB588                ; 0x88B5 in network order
PAYLOAD     equ 14

start:
    cli
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA
    mov esp, stack_top
    cld
    call uart_init
    mov esi, msg_start
    call uart_puts
    mov esi, msg_name
    call vnet_bring_up
    jc finish
.next:
    mov edi, frame
    call vnet_recv                    ; ECX = length
    cmp ecx, PAYLOAD + 12
    jb .next
    cmp word [frame + 12], ETHERTYPE
    jne .next
    cmp dword [frame + PAYLOAD], 'PING'
    jne .next
    cmp dword [echoed], 0
    jne .swap
    mov esi, msg_first
    call uart_puts
    mov esi, frame + 6
    call vnet_print_mac
    call uart_newline
.swap:
    mov esi, frame + 6                ; destination = the sender
    mov edi, frame
    movsd
    movsw
    mov esi, vnet_mac                 ; source = us
    movsd
    movsw
    mov dword [frame + PAYLOAD], 'PONG'
    mov esi, frame
    call vnet_send
    inc dword [echoed]
    mov eax, [frame + PAYLOAD + 8]    ; count
    dec eax
    cmp eax, [frame + PAYLOAD + 4]    ; the last sequence number?
    jne .next
    mov esi, msg_echoed
    call uart_puts
    mov eax, [echoed]
    call print_dec
    mov esi, msg_frames
    call uart_puts
finish:
    mov esi, msg_name
    jmp check_done

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"
%include "pic.inc"
%include "virtio.inc"
%include "vnet.inc"

    FLAT_GDT
    align 8, db 0
idtr:       PSEUDO_DESC idt, 48 * 8

msg_name:   db "netpong", 0
msg_start:  db "netpong: start", 10, 0
msg_first:  db "netpong: first frame from ", 0
msg_echoed: db "netpong: echoed ", 0
msg_frames: db " frames", 10, 0

    BSS_BEGIN
echoed:     resd 1
    alignb 8
idt:        resb 48 * 8
    alignb 16
frame:      resb VNET_MAX_FRAME
    VNET_BSS
stack:      resb 4096
stack_top:
    BSS_END
