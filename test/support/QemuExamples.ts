/** The worked examples of qemu.md §10 as JSON text and expected `machina args` output. */

/** qemu.md §10.1 */
export const MINIMAL_HOST =
  `{"storage":{"disks":{"path":"/var/lib/machina","pattern":"\${machine-name}-\${volume}.raw","type":"raw"}},"network":{"lan":{"device":"br0"}}}`
export const MINIMAL_MACHINE =
  `{"id":"00000000-0000-0000-0000-000000000001","attrs":{"memory":{"ram":1024}},"volumes":[{"name":"os","storage":"disks","bootable":true}],"connections":[{"name":"0","network":"lan"}]}`

export const EXAMPLE_10_2_HOST = `{"processor":{"epyc":{"brand":"AMD","model":"EPYC 7443","threads":2},"xeon":{"brand":"Intel","threads":2,"default":true}},
 "storage":{"vm":{"path":"/srv/vm","pattern":"\${machine-name}/\${volume}.raw","type":"raw-block"},
            "scsi":{"path":"/srv/vm","pattern":"\${machine-name}/\${volume}.img","type":"raw"},
            "media":{"path":"/srv/iso","type":"iso-usb"}},
 "network":{"lan":{"device":"br0","up":"/etc/qemu/up.sh"}},
 "tag":{"base":{"attrs":{"qmp":{"enabled":true,"sockets":{"names":["monitor"]}},"memory":{"ram":2048},"cpu":{"cores":1}}}}}`
export const EXAMPLE_10_2_MACHINE = `{"id":"00000000-0000-0000-0000-000000000001","tags":["base"],
 "attrs":{"cpu":{"processor":"epyc","sockets":1,"cores":2},"memory":{"ram":4096},"enlightenments":{"enabled":true},
          "tpm":{"enabled":true},"spice":{"enabled":true,"port":5901,"displays":2}},
 "volumes":[{"name":"os","storage":"vm","bootable":true},{"name":"data","storage":"scsi","bootable":true},{"name":"tools","storage":"media"}],
 "connections":[{"name":"lan","network":"lan"}]}`

export const EXPECTED_10_1 = `-uuid 00000000-0000-0000-0000-000000000001 \\
-name alpha \\
-enable-kvm \\
-nodefaults \\
-nographic \\
-machine type=q35 \\
-cpu host \\
-m size=1024M \\
-rtc base=utc,clock=host,driftfix=slew \\
-boot menu=on,reboot-timeout=5000 \\
-object iothread,id=iothread.0 \\
-blockdev driver=file,node-name=alpha-os-file,filename=/var/lib/machina/alpha-os.raw \\
-blockdev driver=raw,node-name=alpha-os,file=alpha-os-file \\
-netdev tap,id=net.0,ifname=alpha.0,script=/usr/bin/machina-ifup,downscript=/usr/bin/machina-ifdown \\
-device pvpanic-pci,id=panic.0,bus=pcie.0,addr=1.0,multifunction=on \\
-device ioh3420,id=pcie.1.1,chassis=1,bus=pcie.0,addr=1.1 \\
-device virtio-scsi-pci,id=scsi,bus=pcie.1.1,iothread=iothread.0,num_queues=4 \\
-device scsi-hd,id=scsi.0.0,bus=scsi.0,channel=0,scsi-id=0,lun=0,drive=alpha-os,wwn=0x5525400C18104E5B,serial=QGFUCRM3SI4GFDN4CEGNBATPMS,bootindex=1 \\
-device ioh3420,id=pcie.1.2,chassis=2,bus=pcie.0,addr=1.2 \\
-device virtio-net-pci,bus=pcie.1.2,mac=52:54:00:7f:69:1f,netdev=net.0
`

/** qemu.md §10.2, except `-tpmdev emulator` (the spec prints the original's invalid `emulated`). */
export const EXPECTED_10_2 = `-uuid 00000000-0000-0000-0000-000000000001 \\
-name alpha \\
-enable-kvm \\
-nodefaults \\
-nographic \\
-machine type=q35,vmport=off \\
-cpu host,topoext=on,hv-relaxed,hv-vapic,hv-spinlocks=0x1fff,hv-vpindex,hv-runtime,hv-time,hv-synic,hv-stimer,hv-tlbflush,hv-ipi,hv-frequencies,hv-reenlightenment,hv-stimer-direct,hv-emsr-bitmap,hv-xmm-input,hv-tlbflush-ext,hv-tlbflush-direct,hv-avic=on \\
-smp sockets=1,cores=2,threads=2 \\
-m size=4096M \\
-rtc base=utc,clock=host,driftfix=slew \\
-mon chardev=qmp.0,mode=control \\
-mon chardev=qmp.1,mode=control \\
-mon chardev=qmp.2,mode=control \\
-mon chardev=qmp.3,mode=control \\
-spice port=5901,addr=127.0.0.1,disable-ticketing=on \\
-global driver=qxl-vga,property=ram_size,value=67108864 \\
-global driver=qxl-vga,property=vram_size,value=67108864 \\
-boot menu=on,reboot-timeout=5000 \\
-object iothread,id=iothread.0 \\
-blockdev driver=file,node-name=alpha-os-file,filename=/srv/vm/alpha/os.raw \\
-blockdev driver=raw,node-name=alpha-os,file=alpha-os-file \\
-blockdev driver=file,node-name=alpha-data-file,filename=/srv/vm/alpha/data.img \\
-blockdev driver=raw,node-name=alpha-data,file=alpha-data-file \\
-blockdev driver=file,node-name=tools,read-only=on,filename=/srv/iso/tools.iso-usb \\
-chardev socket,id=tpm.0.socket,path=/run/machina/alpha/tpm.socket \\
-chardev socket,id=qmp.0,server=on,wait=off,path=/run/machina/alpha/systemd.0.qmp.socket \\
-chardev socket,id=qmp.1,server=on,wait=off,path=/run/machina/alpha/command.0.qmp.socket \\
-chardev socket,id=qmp.2,server=on,wait=off,path=/run/machina/alpha/command.1.qmp.socket \\
-chardev socket,id=qmp.3,server=on,wait=off,path=/run/machina/alpha/monitor.qmp.socket \\
-chardev spicevmc,id=vdagent,debug=0,name=vdagent \\
-chardev spicevmc,id=usbredir.0,debug=0,name=usbredir \\
-chardev spicevmc,id=usbredir.1,debug=0,name=usbredir \\
-tpmdev emulator,id=tpm.0,chardev=tpm.0.socket \\
-netdev tap,id=net.0,ifname=alpha.lan,script=/etc/qemu/up.sh,downscript=/usr/bin/machina-ifdown \\
-device pvpanic-pci,id=panic.0,bus=pcie.0,addr=1.0,multifunction=on \\
-device tpm-tis,tpmdev=tpm.0 \\
-device qxl-vga,id=qxl.0,bus=pcie.0,addr=1.2 \\
-device qxl,id=qxl.1,bus=pcie.0,addr=1.3 \\
-device ioh3420,id=pcie.1.4,chassis=4,bus=pcie.0,addr=1.4 \\
-device virtio-serial-pci,id=serial,bus=pcie.1.4 \\
-device virtserialport,id=serial.0.0,bus=serial.0,nr=1,chardev=vdagent,name=com.redhat.spice.0 \\
-device ioh3420,id=pcie.1.5,chassis=5,bus=pcie.0,addr=1.5 \\
-device qemu-xhci,id=usb,bus=pcie.1.5,p2=4,p3=4 \\
-device usb-tablet,id=usb.0.1,bus=usb.0,port=1 \\
-device usb-redir,id=usb.0.2,bus=usb.0,port=2,chardev=usbredir.0 \\
-device usb-redir,id=usb.0.3,bus=usb.0,port=3,chardev=usbredir.1 \\
-device usb-storage,id=usb.0.4,bus=usb.0,port=4,drive=tools \\
-device ioh3420,id=pcie.1.6,chassis=6,bus=pcie.0,addr=1.6 \\
-device virtio-blk-pci,id=block.0,bus=pcie.1.6,iothread=iothread.0,num-queues=4,drive=alpha-os,serial=QGFUCRM3SI4GFDN4CEGNBATPMS,bootindex=1 \\
-device ioh3420,id=pcie.1.7,chassis=7,bus=pcie.0,addr=1.7 \\
-device virtio-scsi-pci,id=scsi,bus=pcie.1.7,iothread=iothread.0,num_queues=4 \\
-device scsi-hd,id=scsi.0.0,bus=scsi.0,channel=0,scsi-id=0,lun=0,drive=alpha-data,wwn=0x55254007794D2742,serial=NT5F2JF9P5MBUDU9MJCJQN46B4,bootindex=2 \\
-device ioh3420,id=pcie.2.0,chassis=8,bus=pcie.0,addr=2.0,multifunction=on \\
-device virtio-net-pci,bus=pcie.2.0,mac=52:54:00:80:48:4a,netdev=net.0
`
