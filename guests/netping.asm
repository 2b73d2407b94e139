; output: netping.elf
; netping - sends 8 Ethernet frames through a virtio-net device (virtio 1.2 5.1, driver in
; include/vnet.inc) and checks that each comes back echoed by netpong.elf on the other end
; of the link. Frames use the IEEE local experimental EtherType 0x88B5; the payload is
; "PING", the sequence number, the frame count (8) and 52 pattern bytes (seq*7 + j) & 0xFF;
; 78 bytes in all. The first frame goes to the broadcast address; the peer's MAC is taken
; from the first reply and the other frames go to it. Stop-and-wait: each reply is awaited
; with HLT and the receive interrupt before the next frame goes out.
; Runs on vmxlab (vmxlab run-pair guests/netping.elf guests/netpong.elf, or with --net
; udp:...) and on QEMU microvm (-device virtio-net-device,netdev=...,mac=52:54:00:12:34:56).
; Output with netpong on the other end (ping MAC 52:54:00:12:34:56, pong's :57;
; tests/virtio-net-run.test.ts checks it, and QEMU microvm prints the same):
;   netping: start
;   netping: virtio-net at transport 7, IRQ 12
;   netping: mac 52:54:00:12:34:56
;   netping: peer 52:54:00:12:34:57
;   netping: reply 0, 78 bytes: ok
;   ... (replies 1 to 7 alike)
;   netping: replies 8 of 8
;   every frame echoed intact: ok
;   netping: failed checks: 0
; Exit status: the number of failed checks.

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
FRAMES      equ 8
ETHERTYPE   equ 0xB588                ; 0x88B5 as it sits in memory (network order)
PAYLOAD     equ 14
FRAME_BYTES equ 78

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
    mov dword [peer], 0xFFFFFFFF      ; broadcast until the first reply names the peer
    mov word [peer + 4], 0xFFFF
    xor ebx, ebx                      ; EBX = sequence number
.next_frame:
    ; destination, source, EtherType
    mov edi, txframe
    mov esi, peer
    movsd
    movsw
    mov esi, vnet_mac
    movsd
    movsw
    mov word [txframe + 12], ETHERTYPE
    mov dword [txframe + PAYLOAD], 'PING'
    mov [txframe + PAYLOAD + 4], ebx
    mov dword [txframe + PAYLOAD + 8], FRAMES
    lea edi, [txframe + PAYLOAD + 12]
    xor ecx, ecx
.pattern:
    imul eax, ebx, 7
    add eax, ecx
    stosb
    inc ecx
    cmp ecx, FRAME_BYTES - PAYLOAD - 12
    jb .pattern
    mov esi, txframe
    mov ecx, FRAME_BYTES
    call vnet_send
.wait_reply:
    mov edi, rxframe
    call vnet_recv                    ; ECX = length
    cmp word [rxframe + 12], ETHERTYPE
    jne .wait_reply                   ; not ours: ignore it
    cmp dword [rxframe + PAYLOAD], 'PONG'
    jne .wait_reply
    cmp [rxframe + PAYLOAD + 4], ebx
    jne .wait_reply                   ; a reply to another frame
    ; the reply: addressed to us, the same length and the same bytes after the tag
    mov edx, 1                        ; EDX = 1 while intact
    cmp ecx, FRAME_BYTES
    je .len_ok
    xor edx, edx
.len_ok:
    mov esi, rxframe
    mov edi, vnet_mac
    push ecx
    mov ecx, 6
    repe cmpsb
    pop ecx
    je .to_us
    xor edx, edx
.to_us:
    mov esi, rxframe + PAYLOAD + 4
    mov edi, txframe + PAYLOAD + 4
    push ecx
    mov ecx, FRAME_BYTES - PAYLOAD - 4
    repe cmpsb
    pop ecx
    je .same
    xor edx, edx
.same:
    test ebx, ebx
    jnz .known_peer
    mov esi, rxframe + 6              ; the peer is whoever answered the broadcast
    mov edi, peer
    movsd
    movsw
    mov esi, msg_peer
    call uart_puts
    mov esi, peer
    call vnet_print_mac
    call uart_newline
.known_peer:
    mov esi, msg_reply
    call uart_puts
    mov eax, ebx
    call print_dec
    mov esi, msg_bytes
    call uart_puts
    mov eax, ecx
    call print_dec
    mov esi, msg_ok
    test edx, edx
    jnz .verdict
    mov esi, msg_bad
.verdict:
    call uart_puts
    add [intact], edx
    inc dword [replies]
    inc ebx
    cmp ebx, FRAMES
    jb .next_frame
    mov esi, msg_replies
    call uart_puts
    mov eax, [replies]
    call print_dec
    mov esi, msg_of
    call uart_puts
    mov eax, FRAMES
    call print_dec
    call uart_newline
    CHECK "every frame echoed intact", [intact], FRAMES
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

msg_name:   db "netping", 0
msg_start:  db "netping: start", 10, 0
msg_peer:   db "netping: peer ", 0
msg_reply:  db "netping: reply ", 0
msg_bytes:  db ", ", 0
msg_ok:     db " bytes: ok", 10, 0
msg_bad:    db " bytes: FAIL", 10, 0
msg_replies: db "netping: replies ", 0
msg_of:     db " of ", 0

    BSS_BEGIN
replies:    resd 1
intact:     resd 1
peer:       resb 8
    alignb 8
idt:        resb 48 * 8
    alignb 16
txframe:    resb VNET_MAX_FRAME
    alignb 16
rxframe:    resb VNET_MAX_FRAME
    VNET_BSS
stack:      resb 4096
stack_top:
    BSS_END
